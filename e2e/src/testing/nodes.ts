// Nodes a test file may label and taint without disturbing anyone else on a
// shared cluster. On the local provider they are the file's own kwok nodes
// (one per zone, created and deleted by the file). On kind or an existing
// cluster, kwok is not there to run fake nodes, so the file borrows schedulable
// worker nodes instead and, afterwards, removes every label and taint whose
// key starts with TEST_KEY_PREFIX from them.
import { afterAll, beforeAll } from "vitest";
import { getJson, kubectl, tryKubectl, useCluster } from "./kube.ts";
import { waitFor } from "./wait.ts";
import { providerName } from "./providers.ts";
import { kwokNode } from "../../cluster/index.ts";

export const TEST_KEY_PREFIX = "e2e.rtcd.mattermost.com/";
const ZONE = "topology.kubernetes.io/zone";

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface TestNodesOptions {
  count: number;
  /** Labels for every node; keys must start with TEST_KEY_PREFIX. */
  labels: Record<string, string>;
  /** Taints for every node; keys must start with TEST_KEY_PREFIX. */
  taints?: Taint[];
}

export interface TestNodes {
  /** Filled in by the file's beforeAll. */
  readonly names: string[];
  readonly zoneOf: Map<string, string>;
}

interface NodeObj {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { taints?: Taint[]; unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}

function checkKeys(opts: TestNodesOptions): void {
  for (const k of [...Object.keys(opts.labels), ...(opts.taints ?? []).map((t) => t.key)]) {
    if (!k.startsWith(TEST_KEY_PREFIX))
      throw new Error(`test node label/taint ${k} must start with ${TEST_KEY_PREFIX}`);
  }
}

const taintArg = (t: Taint) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`;

export function useTestNodes(prefix: string, opts: TestNodesOptions): TestNodes {
  checkKeys(opts);
  const nodes: TestNodes = { names: [], zoneOf: new Map() };
  let created = false;

  beforeAll(async () => {
    await useCluster();
    const all = (await getJson<{ items: NodeObj[] }>(["get", "nodes"])).items;
    if (providerName() === "local") {
      const zones = [...new Set(all.map((n) => n.metadata.labels?.[ZONE]).filter((z): z is string => !!z))];
      if (zones.length === 0) throw new Error("the cluster's nodes carry no zone label");
      const suffix = Math.random().toString(16).slice(2, 8);
      const objs = Array.from({ length: opts.count }, (_, i) => {
        const name = `${prefix}-${suffix}-${i + 1}`;
        const zone = zones[i % zones.length]!;
        return kwokNode({ name, zone, labels: opts.labels, taints: opts.taints });
      });
      created = true;
      for (const o of objs) {
        nodes.names.push(o.metadata.name);
        nodes.zoneOf.set(o.metadata.name, o.metadata.labels[ZONE]);
      }
      await kubectl(["create", "-f", "-"], { input: objs.map((o) => JSON.stringify(o)).join("\n") });
    } else {
      const workers = all.filter(
        (n) =>
          !n.spec.unschedulable &&
          !(n.spec.taints ?? []).some((t) => t.effect !== "PreferNoSchedule") &&
          !Object.keys(n.metadata.labels ?? {}).some((k) =>
            k.startsWith("node-role.kubernetes.io/control-plane"),
          ),
      );
      if (workers.length < opts.count) {
        throw new Error(
          `this test needs ${opts.count} untainted worker nodes; the cluster has ${workers.length}`,
        );
      }
      for (const n of workers.slice(0, opts.count)) {
        nodes.names.push(n.metadata.name);
        nodes.zoneOf.set(n.metadata.name, n.metadata.labels?.[ZONE] ?? "");
        await kubectl([
          "label",
          "node",
          n.metadata.name,
          "--overwrite",
          ...Object.entries(opts.labels).map(([k, v]) => `${k}=${v}`),
        ]);
        for (const t of opts.taints ?? [])
          await kubectl(["taint", "node", n.metadata.name, taintArg(t), "--overwrite"]);
      }
    }
    await waitFor(
      async () => {
        const list = (await getJson<{ items: NodeObj[] }>(["get", "nodes", ...nodes.names])).items;
        return list.every((n) =>
          n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
      },
      { timeoutMs: 60_000, what: `test nodes ${nodes.names.join(", ")} to be Ready` },
    );
  });

  afterAll(async () => {
    if (nodes.names.length === 0) return;
    if (created) {
      await tryKubectl(["delete", "node", ...nodes.names, "--wait=false"]);
      return;
    }
    for (const name of nodes.names) {
      const n = await getJson<NodeObj>(["get", "node", name]).catch(() => undefined);
      if (!n) continue;
      const labels = Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith(TEST_KEY_PREFIX));
      if (labels.length) await tryKubectl(["label", "node", name, ...labels.map((k) => `${k}-`)]);
      for (const t of (n.spec.taints ?? []).filter((t) => t.key.startsWith(TEST_KEY_PREFIX))) {
        await tryKubectl(["taint", "node", name, `${t.key}:${t.effect}-`]);
      }
    }
  });

  return nodes;
}
