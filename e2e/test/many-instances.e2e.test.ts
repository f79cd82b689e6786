// One operator, many teams: 20 MattermostRTCDs in 4 namespaces, applied at
// once next to one that is broken (it references a Secret that does not
// exist). Each must reconcile on its own: all 20 Ready, the broken one
// Degraded with the reason, a change to one touching no other, and the broken
// one recovering when its Secret appears. Times are measured and printed; the
// assertions are about outcomes, not about speed on a shared machine.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { MattermostRTCD } from "@mattermost-rtcd/operator/api";
import {
  getJson,
  kubectl,
  operatorQuiet,
  READY_TIMEOUT_MS,
  useNamespace,
  useOperator,
  waitCondition,
  waitFor,
  waitReady,
} from "../src/testing/index.ts";
import { freeNodePorts } from "../src/testing/ports.ts";

const namespaces = [1, 2, 3, 4].map((i) => useNamespace(`e2e-many-${i}`));
const handle = useOperator(() => namespaces.map((n) => n.name));
const PER_NAMESPACE = 5;
const RUN_LABEL = "e2e.rtcd.mattermost.com/run";
const run = randomBytes(3).toString("hex");

interface Instance {
  namespace: string;
  name: string;
}
const instances: Instance[] = namespaces.flatMap((n) =>
  Array.from({ length: PER_NAMESPACE }, (_, i) => ({ namespace: n.name, name: `rtcd-${i + 1}` })),
);
const broken: Instance = { namespace: namespaces[0]!.name, name: "broken" };
const key = (i: Instance) => `${i.namespace}/${i.name}`;

function manifest(i: Instance, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "rtcd.mattermost.com/v1alpha1",
    kind: "MattermostRTCD",
    metadata: { name: i.name, namespace: i.namespace, labels: { [RUN_LABEL]: run } },
    spec,
  });
}

/** NodePort mode holds no host ports, so 21 instances fit on 3 nodes next to other tests. */
const nodePortSpec = (nodePort: number) => ({
  replicas: 1,
  networking: { mode: "NodePort", nodePort },
  rtcd: { iceHostOverride: { host: "203.0.113.50" } },
});

const seconds = (ms: number) => (ms / 1000).toFixed(1);

describe("20 MattermostRTCDs in 4 namespaces, and a broken one", () => {
  it("all 20 become Ready on their own; the broken one is Degraded and holds nobody up", async () => {
    const ports = await freeNodePorts(instances.length + 1);
    // The broken one first, so that it is at the head of the operator's queue.
    await kubectl(["apply", "-f", "-"], {
      input: manifest(broken, {
        ...nodePortSpec(ports[instances.length]!),
        rtcd: {
          iceHostOverride: { host: "203.0.113.50" },
          turn: { staticAuthSecretRef: { name: "missing-turn-secret", key: "secret" } },
        },
      }),
    });
    const t0 = Date.now();
    await kubectl(["apply", "-f", "-"], {
      input: instances.map((i, n) => manifest(i, nodePortSpec(ports[n]!))).join("\n"),
    });
    const applied = Date.now() - t0;

    const readyAt = new Map<string, number>();
    await waitFor(
      async () => {
        const list = await getJson<{ items: MattermostRTCD[] }>([
          "get",
          "mattermostrtcds.rtcd.mattermost.com",
          "--all-namespaces",
          "-l",
          `${RUN_LABEL}=${run}`,
        ]);
        for (const o of list.items) {
          const k = `${o.metadata!.namespace}/${o.metadata!.name}`;
          const r = o.status?.conditions?.find((c) => c.type === "Ready");
          if (
            !readyAt.has(k) &&
            r?.status === "True" &&
            o.status?.observedGeneration === o.metadata?.generation
          ) {
            readyAt.set(k, Date.now() - t0);
          }
        }
        return instances.every((i) => readyAt.has(key(i)));
      },
      {
        timeoutMs: READY_TIMEOUT_MS * 2,
        intervalMs: 500,
        what: `all ${instances.length} MattermostRTCDs to be Ready (Ready so far: ${readyAt.size})`,
      },
    );
    const times = instances.map((i) => readyAt.get(key(i))!).sort((a, b) => a - b);
    process.stderr.write(
      `[many-instances] applied ${instances.length} in ${seconds(applied)} s; Ready after: first ${seconds(times[0]!)} s, ` +
        `median ${seconds(times[Math.floor(times.length / 2)]!)} s, last ${seconds(times[times.length - 1]!)} s\n` +
        instances.map((i) => `  ${key(i).padEnd(32)} ${seconds(readyAt.get(key(i))!)} s`).join("\n") +
        "\n",
    );

    const b = await waitCondition(
      broken.namespace,
      broken.name,
      "Degraded",
      "True",
      "SecretNotFound",
      READY_TIMEOUT_MS,
    );
    expect(b.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "SecretNotFound",
    });
    expect(b.status?.conditions?.find((c) => c.type === "Degraded")?.message).toContain(
      "missing-turn-secret",
    );
    expect(readyAt.has(key(broken))).toBe(false);
    for (const i of instances) {
      const d = await getJson<{ status: { readyReplicas?: number } }>([
        "get",
        "deployment",
        i.name,
        "-n",
        i.namespace,
      ]);
      expect(d.status.readyReplicas, key(i)).toBe(1);
    }
    const none = await kubectl([
      "get",
      "deployment",
      "-n",
      broken.namespace,
      "--field-selector",
      `metadata.name=${broken.name}`,
      "-o",
      "name",
    ]);
    expect(none).toBe("");
  });

  it("a change to one instance rewrites its own objects and no other's", async () => {
    const op = handle.op!;
    await operatorQuiet(op);
    // What the operator wrote, per object: its generation where it has one (a
    // Deployment's or PDB's status is written by Kubernetes' controllers, which
    // bumps resourceVersion, not generation), its resourceVersion otherwise.
    // Keyed by kind too: an instance's Deployment, Service and PDB share its name.
    const writes = async () => {
      const out: Record<string, string> = {};
      for (const n of namespaces) {
        const list = await getJson<{
          items: {
            kind: string;
            metadata: { name: string; namespace: string; resourceVersion: string; generation?: number };
          }[];
        }>([
          "get",
          "deployments,services,configmaps,poddisruptionbudgets",
          "-n",
          n.name,
          "-l",
          "app.kubernetes.io/managed-by=mattermost-rtcd-operator",
        ]);
        for (const o of list.items)
          out[`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`] =
            o.metadata.generation !== undefined ? `g${o.metadata.generation}` : o.metadata.resourceVersion;
      }
      return out;
    };
    const before = await writes();
    const target = instances[7]!;
    await kubectl([
      "patch",
      "mattermostrtcd",
      target.name,
      "-n",
      target.namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { podAnnotations: { "example.com/team": "blue" } } }),
    ]);
    await waitReady(target.namespace, target.name, READY_TIMEOUT_MS);
    await operatorQuiet(op);
    const after = await writes();
    const changed = Object.keys(before).filter((k) => before[k] !== after[k]);
    expect(changed, "objects the operator wrote").toContain(`Deployment/${target.namespace}/${target.name}`);
    const ownedByTarget = (k: string) => {
      const [, ns, name] = k.split("/");
      return ns === target.namespace && (name === target.name || name!.startsWith(`${target.name}-`));
    };
    const others = changed.filter((k) => !ownedByTarget(k));
    expect(others, "objects of other instances the operator wrote").toEqual([]);
  });

  it("the broken one becomes Ready once its Secret exists", async () => {
    await kubectl([
      "create",
      "secret",
      "generic",
      "missing-turn-secret",
      "-n",
      broken.namespace,
      "--from-literal=secret=now-here",
    ]);
    const t0 = Date.now();
    const ready = await waitReady(broken.namespace, broken.name, READY_TIMEOUT_MS);
    process.stderr.write(
      `[many-instances] broken instance Ready ${seconds(Date.now() - t0)} s after its Secret appeared\n`,
    );
    expect(ready.status?.conditions?.find((c) => c.type === "Degraded")?.status).toBe("False");
  });
});
