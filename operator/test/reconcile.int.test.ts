// The operator against a real API server, etcd, scheduler, controller-manager
// (garbage collector) and kwok nodes: what a platform team sees when it applies
// MattermostRTCDs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  condition,
  cr,
  getOrUndefined,
  installCrd,
  instanceObjects,
  kubectl,
  operatorQuiet,
  operatorWrites,
  startOperator,
  tryKubectl,
  useCluster,
  useNamespace,
  waitCondition,
  waitFor,
  waitReady,
  type Obj,
  type OperatorProcess,
} from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-reconcile");
installCrd();
let op: OperatorProcess;

beforeAll(async () => {
  const c = await useCluster();
  op = await startOperator(c.kubeconfig, ["--namespace", ns.name, "--resync-period", "2s"], c.env);
  await waitFor(async () => op.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
});

afterAll(async () => {
  const code = await op?.stop();
  expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
});

const apply = (doc: string) => kubectl(["apply", "-n", ns.name, "-f", "-"], { input: doc });

describe("MattermostRTCD reconcile", () => {
  it("creates every object with an owner reference and becomes Ready with the endpoint", async () => {
    await apply(cr("alpha", { replicas: 3 }));
    const ready = await waitReady(ns.name, "alpha");
    expect(ready.status?.endpoint).toBe(`http://alpha.${ns.name}.svc.cluster.local:8045`);
    expect(ready.status?.readyReplicas).toBe(3);

    const objs = await instanceObjects(ns.name, "alpha");
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      expect.arrayContaining([
        "ConfigMap/alpha-config",
        "Deployment/alpha",
        "PodDisruptionBudget/alpha",
        "Secret/alpha-admin",
        "Service/alpha",
        "ServiceAccount/alpha",
      ]),
    );
    for (const o of objs) {
      expect(o.metadata.ownerReferences?.[0], `${o.kind}/${o.metadata.name}`).toMatchObject({
        uid: ready.metadata!.uid,
        controller: true,
      });
    }
    const deploy = objs.find((o) => o.kind === "Deployment")!;
    const pod = deploy.spec!.template!.spec as { terminationGracePeriodSeconds: number };
    expect(pod.terminationGracePeriodSeconds).toBe(18000);
    // The admin key is a Secret reference, never a literal in the pod spec.
    expect(JSON.stringify(deploy)).not.toContain(
      Buffer.from(objs.find((o) => o.kind === "Secret")!.data!["ADMIN_SECRET_KEY"]!, "base64").toString(),
    );
  });

  it("tells what it created in one Event naming every object, the generated admin Secret too", async () => {
    const uid = (await waitReady(ns.name, "alpha")).metadata!.uid!;
    const events = JSON.parse(
      await kubectl([
        "get",
        "events",
        "-n",
        ns.name,
        "--field-selector",
        `involvedObject.uid=${uid}`,
        "-o",
        "json",
      ]),
    ) as { items: { reason: string; message: string }[] };
    const created = events.items.filter((e) => e.reason === "Created");
    expect(
      created.map((e) => e.message),
      JSON.stringify(events.items.map((e) => [e.reason, e.message])),
    ).toEqual([expect.stringMatching(/^created /)]);
    // The generated Secret is one of the objects created, not an Event of its own.
    expect(events.items.map((e) => e.reason)).not.toContain("AdminSecretGenerated");
    for (const o of [
      "Secret alpha-admin (a random admin key)",
      "ConfigMap alpha-config",
      "Deployment alpha",
      "PodDisruptionBudget alpha",
      "Service alpha",
    ])
      expect(created[0]!.message).toContain(o);
  });

  it("a reconcile of an unchanged CR writes nothing", async () => {
    await waitReady(ns.name, "alpha");
    // In-flight status writes of the earlier test settle first; then, across
    // three resyncs (every 2 s here), the operator must not write at all.
    const w0 = await operatorQuiet(op);
    const reconciles = () => op.metricValue("controller_runtime_reconcile_total");
    const r0 = await reconciles();
    await waitFor(async () => (await reconciles()) > r0 + 2, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: "three more reconciles of the unchanged CR",
    });
    expect(await operatorWrites(op)).toBe(w0);
  });

  it("rolls the workload when the spec changes", async () => {
    const before = (await getOrUndefined(ns.name, "deployment", "alpha"))!;
    // Mattermost's image, an explicit choice the operator supports as well as ours.
    await apply(cr("alpha", { replicas: 3, image: { repository: "mattermost/rtcd", tag: "v1.2.7" } }));
    const after = await waitFor(
      async () => {
        const d = await getOrUndefined(ns.name, "deployment", "alpha");
        return d && d.metadata.generation! > before.metadata.generation! ? d : undefined;
      },
      { timeoutMs: 30_000, what: "the Deployment to change" },
    );
    const containers = (after.spec!.template!.spec as { containers: { image: string }[] }).containers;
    expect(containers[0]!.image).toBe("mattermost/rtcd:v1.2.7");
    await waitReady(ns.name, "alpha");
  });

  it("reverts a human edit of a field it owns", async () => {
    await kubectl([
      "patch",
      "-n",
      ns.name,
      "deployment/alpha",
      "--type=merge",
      "-p",
      '{"spec":{"template":{"spec":{"terminationGracePeriodSeconds":30}}}}',
    ]);
    await waitFor(
      async () => {
        const d = await getOrUndefined(ns.name, "deployment", "alpha");
        const g = (d?.spec?.template?.spec as { terminationGracePeriodSeconds?: number } | undefined)
          ?.terminationGracePeriodSeconds;
        return g === 18000;
      },
      { timeoutMs: 30_000, what: "terminationGracePeriodSeconds back to 18000" },
    );
  });

  it("deletes what a feature turned off made", async () => {
    expect(await getOrUndefined(ns.name, "pdb", "alpha")).toBeDefined();
    await apply(
      cr("alpha", { replicas: 3, image: { tag: "v1.2.7" }, podDisruptionBudget: { enabled: false } }),
    );
    await waitFor(async () => (await getOrUndefined(ns.name, "pdb", "alpha")) === undefined, {
      timeoutMs: 30_000,
      what: "the PodDisruptionBudget to be deleted",
    });
  });

  it("replaces the Deployment with a DaemonSet when deploymentType switches", async () => {
    await apply(cr("alpha", { deploymentType: "DaemonSet" }));
    await waitFor(
      async () =>
        (await getOrUndefined(ns.name, "daemonset", "alpha")) !== undefined &&
        (await getOrUndefined(ns.name, "deployment", "alpha")) === undefined,
      { timeoutMs: 30_000, what: "a DaemonSet instead of the Deployment" },
    );
    const ready = await waitReady(ns.name, "alpha");
    expect(ready.status?.deploymentType).toBe("DaemonSet");
    // One pod per node it may run on: not on nodes tainted NoSchedule (the
    // real nodes, when an e2e file has started them on this cluster).
    const nodes = JSON.parse(await kubectl(["get", "nodes", "-o", "json"])) as {
      items: { spec?: { taints?: { effect: string }[] } }[];
    };
    const schedulable = nodes.items.filter((n) => !n.spec?.taints?.some((t) => t.effect === "NoSchedule"));
    expect(ready.status?.readyReplicas).toBe(schedulable.length);
  });

  it("leaves nothing behind when the CR is deleted", async () => {
    await kubectl(["delete", "-n", ns.name, "mattermostrtcd/alpha"]);
    await waitFor(async () => (await instanceObjects(ns.name, "alpha")).length === 0, {
      timeoutMs: 60_000,
      what: "every owned object to be garbage-collected",
    });
  });

  it("reports a missing Secret as Degraded with an Event, then becomes Ready when it appears", async () => {
    await apply(
      cr("beta", {
        replicas: 1,
        rtcd: { turn: { staticAuthSecretRef: { name: "turn-secret", key: "secret" } } },
      }),
    );
    const degraded = await waitCondition(ns.name, "beta", "Degraded", "True");
    const msg = degraded.status!.conditions!.find((c) => c.type === "Degraded")!.message!;
    expect(msg).toContain("turn-secret");
    expect(msg).toContain("spec.rtcd.turn.staticAuthSecretRef");
    const events = await kubectl([
      "get",
      "events",
      "-n",
      ns.name,
      "--field-selector",
      "involvedObject.name=beta",
      "-o",
      "jsonpath={.items[*].message}",
    ]);
    expect(events).toContain("turn-secret");
    expect(await getOrUndefined(ns.name, "deployment", "beta")).toBeUndefined();

    await kubectl([
      "create",
      "secret",
      "generic",
      "turn-secret",
      "-n",
      ns.name,
      "--from-literal=secret=s3cr3t",
    ]);
    const ready = await waitReady(ns.name, "beta");
    expect(ready.status!.conditions!.find((c) => c.type === "Degraded")!.status).toBe("False");
    // The secret value never lands in status or in the workload.
    const d = (await getOrUndefined<Obj>(ns.name, "deployment", "beta"))!;
    expect(JSON.stringify(d) + JSON.stringify(ready.status)).not.toContain("s3cr3t");
  });

  it("says in status why a pod cannot be scheduled, in the scheduler's words", async () => {
    await apply(cr("nowhere", { replicas: 1, nodeSelector: { "example.com/pool": "absent" } }));
    const st = await waitCondition(ns.name, "nowhere", "Ready", "False", "PodUnschedulable");
    const msg = condition(st, "Ready")!.message!;
    expect(msg).toMatch(/^0\/1 updated|^1\/1 updated/);
    expect(msg).toMatch(/pod nowhere-[a-z0-9-]+: 0\/\d+ nodes are available: .*node affinity\/selector/);
    // Fixing the spec clears it.
    await kubectl([
      "patch",
      "mattermostrtcd",
      "nowhere",
      "-n",
      ns.name,
      "--type=json",
      "-p",
      JSON.stringify([{ op: "remove", path: "/spec/nodeSelector" }]),
    ]);
    await waitReady(ns.name, "nowhere");
  });

  it("rejects invalid CRs with field-level messages (schema and CEL)", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { replicas: -1 },
        /spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/,
      ],
      [{ deploymentType: "StatefulSet" }, /spec\.deploymentType: Unsupported value: "StatefulSet"/],
      [
        { deploymentType: "DaemonSet", replicas: 2 },
        /spec\.replicas.*not allowed when spec\.deploymentType is DaemonSet/,
      ],
      [{ apiPort: 8443, rtcPort: 8443 }, /apiPort/],
    ];
    for (const [spec, want] of cases) {
      const r = await tryKubectl(["apply", "-n", ns.name, "-f", "-"], { input: cr("invalid", spec) });
      expect(r.ok, JSON.stringify(spec)).toBe(false);
      expect(r.stderr).toMatch(want);
    }
    expect(await getOrUndefined(ns.name, "mattermostrtcd", "invalid")).toBeUndefined();
  });
});
