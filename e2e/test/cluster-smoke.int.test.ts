// Proves the local cluster behaves like a real one where our tests depend on
// it: the scheduler honours zone anti-affinity and says why a pod cannot be
// placed, the garbage collector follows owner references, and the API server
// validates objects.
import { describe, expect, it } from "vitest";
import { getJson, helm, kubectl, tryKubectl, useNamespace, waitFor } from "../src/testing/index.ts";

interface Pod {
  metadata: { name: string; ownerReferences?: { kind: string }[] };
  spec: { nodeName?: string };
  status: {
    phase: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}
interface List<T> {
  items: T[];
}

const ns = useNamespace("cluster-smoke");

function deployment(replicas: number): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "spread" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "spread" } },
      template: {
        metadata: { labels: { app: "spread" } },
        spec: {
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                {
                  labelSelector: { matchLabels: { app: "spread" } },
                  topologyKey: "topology.kubernetes.io/zone",
                },
              ],
            },
          },
          containers: [{ name: "app", image: "registry.invalid/app:1" }],
        },
      },
    },
  });
}

describe("local cluster", () => {
  it("has at least 3 Ready nodes in 3 zones, and helm answers", async () => {
    const nodes = await getJson<
      List<{ metadata: { labels: Record<string, string> }; status: Pod["status"] }>
    >(["get", "nodes"]);
    const ready = nodes.items.filter((n) =>
      n.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
    expect(ready.length).toBeGreaterThanOrEqual(3);
    expect(
      new Set(ready.map((n) => n.metadata.labels["topology.kubernetes.io/zone"])).size,
    ).toBeGreaterThanOrEqual(3);
    expect(await helm(["version", "--short"])).toMatch(/^v3\./);
  });

  it("spreads 3 replicas over 3 zones and leaves a 4th Pending with the scheduler's reason", async () => {
    await kubectl(["apply", "-n", ns.name, "-f", "-"], { input: deployment(3) });
    const running = await waitFor(
      async () => {
        const pods = await getJson<List<Pod>>(["get", "pods", "-n", ns.name, "-l", "app=spread"]);
        const r = pods.items.filter((p) => p.status.phase === "Running");
        return r.length === 3 ? r : undefined;
      },
      { timeoutMs: 60_000, what: "3 running pods" },
    );
    const nodes = await getJson<List<{ metadata: { name: string; labels: Record<string, string> } }>>([
      "get",
      "nodes",
    ]);
    const zoneOf = new Map(
      nodes.items.map((n) => [n.metadata.name, n.metadata.labels["topology.kubernetes.io/zone"]]),
    );
    expect(new Set(running.map((p) => zoneOf.get(p.spec.nodeName ?? ""))).size).toBe(3);

    await kubectl(["scale", "-n", ns.name, "deployment/spread", "--replicas=4"]);
    const pending = await waitFor(
      async () => {
        const pods = await getJson<List<Pod>>(["get", "pods", "-n", ns.name, "-l", "app=spread"]);
        return pods.items.find((p) =>
          p.status.conditions?.some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable"),
        );
      },
      { timeoutMs: 60_000, what: "an unschedulable 4th pod" },
    );
    expect(pending.status.phase).toBe("Pending");
    const cond = pending.status.conditions!.find((c) => c.type === "PodScheduled")!;
    expect(cond.message).toMatch(/anti-affinity/);
  });

  it("garbage-collects the ReplicaSet and pods of a deleted Deployment", async () => {
    const rs = await getJson<List<unknown>>(["get", "replicasets", "-n", ns.name, "-l", "app=spread"]);
    expect(rs.items.length).toBeGreaterThan(0);
    await kubectl(["delete", "-n", ns.name, "deployment/spread", "--wait=false"]);
    await waitFor(
      async () => {
        const left = await getJson<List<unknown>>([
          "get",
          "replicasets,pods",
          "-n",
          ns.name,
          "-l",
          "app=spread",
        ]);
        return left.items.length === 0;
      },
      { timeoutMs: 60_000, what: "the ReplicaSet and pods to be garbage-collected" },
    );
  });

  it("makes a running pod Ready again after the node controller marked it NotReady, as a kubelet does", async () => {
    // What the node lifecycle controller does to the pods of a node whose
    // lease went stale (etcd restarting, for example): Ready=False, pod still Running.
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "ready-again" },
      spec: { nodeName: "kwok-node-1", containers: [{ name: "c", image: "example.invalid/none" }] },
    };
    await kubectl(["apply", "-n", ns.name, "-f", "-"], { input: JSON.stringify(pod) });
    const ready = async () => {
      const p = await getJson<Pod>(["get", "pod", "ready-again", "-n", ns.name]);
      return p.status.phase === "Running" &&
        p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        ? p
        : false;
    };
    await waitFor(ready, { timeoutMs: 60_000, what: "the pod to be Running and Ready" });
    await kubectl([
      "patch",
      "pod",
      "ready-again",
      "-n",
      ns.name,
      "--subresource=status",
      "--type=strategic",
      "-p",
      JSON.stringify({
        status: { conditions: [{ type: "Ready", status: "False", reason: "NodeNotReady" }] },
      }),
    ]);
    const p = await waitFor(ready, {
      timeoutMs: 30_000,
      what: "the pod marked NotReady to be Ready again (kwok's pod-ready-again stage)",
    });
    expect(p.status.phase).toBe("Running");
  });

  it("rejects an invalid object with the field's error", async () => {
    const bad = JSON.parse(deployment(3)) as { spec: { replicas: number } };
    bad.spec.replicas = -1;
    const r = await tryKubectl(["apply", "-n", ns.name, "-f", "-"], { input: JSON.stringify(bad) });
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
  });
});
