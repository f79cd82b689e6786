// A user's own objects that carry the names a MattermostRTCD would give its
// own: the operator must leave them exactly as they are (no owner reference,
// so deleting the CR never deletes them; no field changed), say so in status,
// and converge once the name is free.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  kubectl,
  useCluster,
  useNamespace,
  waitFor,
  startOperator,
  type OperatorProcess,
  condition,
  cr,
  getOrUndefined,
  installCrd,
  instanceObjects,
  waitCondition,
  waitReady,
  type Obj,
} from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-ownership");
installCrd();
let op: OperatorProcess;

beforeAll(async () => {
  const c = await useCluster();
  op = await startOperator(
    c.kubeconfig,
    ["--namespace", ns.name, "--resync-period", "2s", "--retry-max-delay", "2s"],
    c.env,
  );
  await waitFor(async () => op.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
});

afterAll(async () => {
  const code = await op?.stop();
  expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
});

const apply = (doc: string) => kubectl(["apply", "-n", ns.name, "-f", "-"], { input: doc });

/** A team's own objects, named as the operator would name gamma's. */
const userObjects = [
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "gamma", labels: { team: "web" } },
    spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
  },
  {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "gamma-config", labels: { team: "web" } },
    data: { owner: "team-web" },
  },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "gamma", labels: { team: "web" } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image: "example.com/web:1" }] },
      },
    },
  },
];

const kinds = ["service", "configmap", "deployment"] as const;

async function snapshot(): Promise<Obj[]> {
  return Promise.all(
    userObjects.map(async (o, i) => (await getOrUndefined(ns.name, kinds[i]!, o.metadata.name))!),
  );
}

describe("objects the operator did not create", () => {
  it("are left untouched, and the CR reports NameConflict naming them", async () => {
    for (const o of userObjects) await apply(JSON.stringify(o));
    const before = await snapshot();

    await apply(cr("gamma", { replicas: 1 }));
    const st = await waitCondition(ns.name, "gamma", "Ready", "False", "NameConflict");
    const degraded = condition(st, "Degraded")!;
    expect(degraded.status).toBe("True");
    expect(degraded.reason).toBe("NameConflict");
    for (const want of ["Service/gamma", "ConfigMap/gamma-config", "Deployment/gamma"]) {
      expect(degraded.message).toContain(want);
    }

    // Let it reconcile (resync every 2 s, retries every 2 s) a few more times.
    const r0 = await op.metricValue("controller_runtime_reconcile_total");
    await waitFor(async () => (await op.metricValue("controller_runtime_reconcile_total")) >= r0 + 3, {
      timeoutMs: 30_000,
      what: "three more reconciles",
    });
    const after = await snapshot();
    for (const [i, o] of after.entries()) {
      const what = `${o.kind}/${o.metadata.name}`;
      expect(o.metadata.ownerReferences, what).toBeUndefined();
      expect(o.metadata.labels, what).toEqual({ team: "web" });
      expect(o.metadata.generation, `${what}'s spec changed`).toBe(before[i]!.metadata.generation);
      const fields = (o.metadata as { managedFields?: { manager: string }[] }).managedFields ?? [];
      const managers = fields.map((m) => m.manager);
      expect(managers, `${what} written by the operator`).not.toContain("mattermost-rtcd-operator");
      // The Deployment's status is the deployment controller's; the others have no controller.
      if (o.kind !== "Deployment") {
        expect(o.metadata.resourceVersion, `${what} changed`).toBe(before[i]!.metadata.resourceVersion);
      }
    }
    // Nothing else of gamma's was written either.
    expect(await instanceObjects(ns.name, "gamma")).toEqual([]);
  });

  it("converges once the user's objects are gone", async () => {
    for (const [i, o] of userObjects.entries()) {
      await kubectl(["delete", "-n", ns.name, kinds[i]!, o.metadata.name, "--wait"]);
    }
    const ready = await waitReady(ns.name, "gamma");
    expect(condition(ready, "Degraded")!.status).toBe("False");
    for (const kind of kinds) {
      const name = kind === "configmap" ? "gamma-config" : "gamma";
      const o = (await getOrUndefined(ns.name, kind, name))!;
      expect(o.metadata.ownerReferences?.[0]?.uid, `${kind}/${name}`).toBe(ready.metadata!.uid);
    }
  });
});
