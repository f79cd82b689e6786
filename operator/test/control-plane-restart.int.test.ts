// The API server and etcd crash while a team creates 100 MattermostRTCDs.
// What users rely on: once the control plane is back, every instance ends
// Ready with exactly its own objects (none missing, none twice, none left
// without an owner), and the operator is still alive and acting on changes
// rather than stuck on a request that will never be answered.
import { afterAll, describe, expect, it } from "vitest";
import { restartComponent } from "@mattermost-rtcd/e2e/cluster";
import type { MattermostRTCD } from "@mattermost-rtcd/operator/api";
import {
  condition,
  freeNodePorts,
  getJson,
  installCrd,
  startOperator,
  tryKubectl,
  useCluster,
  useNamespace,
  waitFor,
  waitReady,
  type Obj,
  type OperatorProcess,
} from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-cp-restart");
installCrd();
const COUNT = 100;
const BATCH = 10;
const KINDS = "deployments,services,configmaps,secrets,serviceaccounts,poddisruptionbudgets";
const MANAGED = "app.kubernetes.io/managed-by=mattermost-rtcd-operator";
let op: OperatorProcess | undefined;

afterAll(async () => {
  await op?.stop("SIGKILL");
});

const log = (msg: string) => process.stderr.write(`[cp-restart] ${msg}\n`);

/** Applies until the API server takes it: it may be down or still starting. */
async function applyRetrying(doc: string): Promise<void> {
  await waitFor(
    async () => {
      const r = await tryKubectl(["apply", "-n", ns.name, "-f", "-"], { input: doc });
      if (!r.ok) throw new Error(r.stderr);
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 500, what: "a batch of CRs to be applied" },
  );
}

describe("operator across API server and etcd restarts", () => {
  it(
    "100 instances created through an API server crash and an etcd crash all converge",
    async () => {
      const c = await useCluster();
      if (!c.local) return; // needs control-plane processes this machine started
      op = await startOperator(c.kubeconfig, ["--namespace", ns.name], c.env);
      await waitFor(() => op!.ready(), { timeoutMs: 60_000, what: "the operator to be ready" });

      // NodePort mode holds no host ports: 100 instances fit on the cluster's nodes.
      const ports = await freeNodePorts(COUNT);
      const manifest = (i: number) =>
        JSON.stringify({
          apiVersion: "rtcd.mattermost.com/v1alpha1",
          kind: "MattermostRTCD",
          metadata: { name: `r-${i}` },
          spec: {
            replicas: 1,
            networking: { mode: "NodePort", nodePort: ports[i] },
            rtcd: { iceHostOverride: { host: "203.0.113.50" } },
          },
        });
      const crash: Record<number, "kube-apiserver" | "etcd"> = { 3: "kube-apiserver", 6: "etcd" };
      for (let b = 0; b < COUNT / BATCH; b++) {
        const docs = Array.from({ length: BATCH }, (_, j) => manifest(b * BATCH + j));
        // Batches follow each other without waiting for Ready: each crash lands
        // while the operator is busy creating the earlier batches' objects.
        await applyRetrying(docs.join("\n"));
        const what = crash[b];
        if (what) {
          log(`killing ${what} after ${(b + 1) * BATCH} CRs`);
          await restartComponent(what);
        }
      }

      const t0 = Date.now();
      const crs = await waitFor(
        async () => {
          const list = await getJson<{ items: MattermostRTCD[] }>(["get", "mattermostrtcds", "-n", ns.name]);
          const ready = list.items.filter((cr) => {
            const r = condition(cr, "Ready");
            return r?.status === "True" && r.observedGeneration === cr.metadata?.generation;
          });
          return ready.length === COUNT ? list.items : false;
        },
        { timeoutMs: 15 * 60_000, intervalMs: 5_000, what: `all ${COUNT} instances to be Ready` },
      );
      log(`all ${COUNT} Ready ${((Date.now() - t0) / 1000).toFixed(0)} s after the last batch`);

      // Every instance has the same full set of objects (names are derived from
      // the instance's, so a lost or extra object shows as a different set), and
      // every object is owned by the live CR of its instance.
      const uids = new Map(crs.map((cr) => [cr.metadata!.uid!, cr.metadata!.name!]));
      const objs = (await getJson<{ items: Obj[] }>(["get", "-n", ns.name, KINDS, "-l", MANAGED])).items;
      const sets = new Map<string, string[]>();
      for (const o of objs) {
        const owner = o.metadata.ownerReferences?.find((r) => r.controller)?.uid;
        const instance = o.metadata.labels?.["app.kubernetes.io/instance"] ?? "";
        expect(owner && uids.get(owner), `${o.kind}/${o.metadata.name} has a live owner`).toBe(instance);
        sets.set(instance, [
          ...(sets.get(instance) ?? []),
          `${o.kind}/${o.metadata.name.replace(instance, "*")}`,
        ]);
      }
      const expected = (sets.get("r-0") ?? []).sort();
      expect(new Set(expected.map((k) => k.split("/")[0]))).toEqual(
        new Set(["ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Service", "ServiceAccount"]),
      );
      expect(sets.size).toBe(COUNT);
      for (const [instance, set] of sets) expect(set.sort(), instance).toEqual(expected);

      // Not hung: still running, and a change made now is acted on.
      expect(op.proc.exitCode).toBeNull();
      const r = await tryKubectl([
        "patch",
        "-n",
        ns.name,
        "mattermostrtcd/r-0",
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { replicas: 2 } }),
      ]);
      expect(r.ok, r.stderr).toBe(true);
      const patched = await waitReady(ns.name, "r-0", 120_000);
      expect(patched.status?.readyReplicas).toBe(2);
    },
    25 * 60_000,
  ); // two control-plane cold starts and 100 rollouts on a shared 2-core machine
});
