// deploymentType: DaemonSet, as a platform team uses it: one rtcd per media
// node, chosen by a nodeSelector and allowed onto tainted nodes by
// tolerations. The DaemonSet must land on every node that matches and
// tolerates, on none other, and follow nodes as they join or leave the pool.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  cr,
  getJson,
  kubectl,
  READY_TIMEOUT_MS,
  TEST_KEY_PREFIX,
  useNamespace,
  useOperator,
  useTestNodes,
  waitFor,
} from "../src/testing/index.ts";
import { randomHostPorts } from "../src/testing/ports.ts";
import type { MattermostRTCD } from "@mattermost-rtcd/operator/api";

const ns = useNamespace("e2e-daemonset");
useOperator(() => [ns.name]);
const POOL = `${TEST_KEY_PREFIX}pool`;
const DEDICATED = `${TEST_KEY_PREFIX}dedicated`;
const pool = randomBytes(3).toString("hex");
// Three nodes of the pool, all tainted so that nothing else lands there.
const nodes = useTestNodes("e2e-ds", {
  count: 3,
  labels: { [POOL]: pool },
  taints: [{ key: POOL, value: pool, effect: "NoSchedule" }],
});
const ports = randomHostPorts();
const poolToleration = { key: POOL, operator: "Equal", value: pool, effect: "NoSchedule" };
const dedicatedToleration = { key: DEDICATED, operator: "Equal", value: "media", effect: "NoSchedule" };

const apply = (tolerations: object[]) =>
  kubectl(["apply", "-n", ns.name, "-f", "-"], {
    input: cr("media", {
      deploymentType: "DaemonSet",
      ...ports,
      nodeSelector: { [POOL]: pool },
      tolerations,
    }),
  });

interface Pod {
  metadata: { deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { conditions?: { type: string; status: string }[] };
}

/** Waits until exactly `want` run a ready pod and the CR is Ready for all of them. */
async function onExactly(want: string[]): Promise<MattermostRTCD> {
  return waitFor(
    async () => {
      const pods = (
        await getJson<{ items: Pod[] }>([
          "get",
          "pods",
          "-n",
          ns.name,
          "-l",
          "app.kubernetes.io/instance=media",
        ])
      ).items.filter((p) => !p.metadata.deletionTimestamp);
      const ready = pods.filter((p) =>
        p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      const on = pods.map((p) => p.spec.nodeName ?? "").sort();
      if (ready.length !== pods.length || JSON.stringify(on) !== JSON.stringify([...want].sort()))
        return undefined;
      const o = await getJson<MattermostRTCD>(["get", "mattermostrtcd", "media", "-n", ns.name]);
      const r = o.status?.conditions?.find((c) => c.type === "Ready");
      return r?.status === "True" &&
        o.status?.observedGeneration === o.metadata?.generation &&
        o.status?.desiredReplicas === want.length
        ? o
        : undefined;
    },
    { timeoutMs: READY_TIMEOUT_MS, what: `rtcd pods on exactly ${want.join(", ")} and the CR Ready` },
  );
}

describe("DaemonSet", () => {
  it("lands on every node that matches the nodeSelector and whose taints it tolerates, and on no other", async () => {
    const [a, b, c] = nodes.names as [string, string, string];
    await kubectl(["taint", "node", c, `${DEDICATED}=media:NoSchedule`]);
    await apply([poolToleration]);
    const ready = await onExactly([a, b]);
    expect(ready.status?.deploymentType).toBe("DaemonSet");
    expect(ready.status?.readyReplicas).toBe(2);
    const ds = await getJson<{
      spec: { template: { spec: { nodeSelector: unknown; tolerations: unknown } } };
    }>(["get", "daemonset", "media", "-n", ns.name]);
    expect(ds.spec.template.spec.nodeSelector).toEqual({ [POOL]: pool });
    expect(ds.spec.template.spec.tolerations).toEqual([poolToleration]);
  });

  it("a toleration added to the CR takes the DaemonSet onto the node it tolerates", async () => {
    const [a, b, c] = nodes.names as [string, string, string];
    await apply([poolToleration, dedicatedToleration]);
    const ready = await onExactly([a, b, c]);
    expect(ready.status?.readyReplicas).toBe(3);
  });

  it("a node that leaves the pool (label removed) loses its pod; the CR stays Ready with one fewer", async () => {
    const [a, b, c] = nodes.names as [string, string, string];
    await kubectl(["label", "node", b, `${POOL}-`]);
    const ready = await onExactly([a, c]);
    expect(ready.status?.readyReplicas).toBe(2);
  });
});
