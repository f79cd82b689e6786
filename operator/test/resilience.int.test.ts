// The operator dying at a bad moment, and running as two replicas: what a
// production install lives through on every node drain and rollout.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  cr,
  getOrUndefined,
  installCrd,
  instanceObjects,
  kubectl,
  startOperator,
  useCluster,
  useNamespace,
  waitFor,
  waitReady,
  type OperatorProcess,
} from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-resilience");
installCrd();
const running: OperatorProcess[] = [];

afterEach(async () => {
  for (const op of running.splice(0)) await op.stop("SIGKILL");
});

async function start(args: string[] = []): Promise<OperatorProcess> {
  const c = await useCluster();
  const op = await startOperator(c.kubeconfig, ["--namespace", ns.name, ...args], c.env);
  running.push(op);
  return op;
}

const apply = (doc: string) => kubectl(["apply", "-n", ns.name, "-f", "-"], { input: doc });

describe("operator resilience", () => {
  it("converges after being killed in the middle of a reconcile", async () => {
    const first = await start();
    await apply(cr("killed", { replicas: 2 }));
    // Kill it right after its first write, before it has applied everything.
    await waitFor(async () => first.logs.some((l) => l.includes('"msg":"created"')), {
      timeoutMs: 30_000,
      what: "the first object to be created",
    });
    await first.stop("SIGKILL");
    const partial = (await instanceObjects(ns.name, "killed")).length;

    await start();
    const ready = await waitReady(ns.name, "killed");
    const objs = await instanceObjects(ns.name, "killed");
    expect(objs.length).toBeGreaterThanOrEqual(partial);
    for (const o of objs) expect(o.metadata.ownerReferences?.[0]?.uid).toBe(ready.metadata!.uid);
    expect(await getOrUndefined(ns.name, "deployment", "killed")).toBeDefined();
    // rtcd pods hold host ports (HostNetwork by default): free the nodes for the next test.
    await kubectl(["delete", "-n", ns.name, "mattermostrtcd/killed"]);
    await waitFor(async () => (await instanceObjects(ns.name, "killed")).length === 0, {
      timeoutMs: 60_000,
      what: "the killed instance's objects to be garbage-collected",
    });
  });

  it("with two replicas exactly one leads, and the other takes over within 20 s when it dies", async () => {
    const id = `le-${randomBytes(3).toString("hex")}`;
    const le = ["--leader-elect", "--leader-election-namespace", ns.name, "--leader-election-id", id];
    const a = await start(le);
    const b = await start(le);
    const leaderOf = async () => {
      const [ma, mb] = await Promise.all([
        a.metricValue("leader_election_master_status"),
        b.metricValue("leader_election_master_status"),
      ]);
      return ma + mb === 1 ? (ma === 1 ? a : b) : undefined;
    };
    const leader = await waitFor(leaderOf, { timeoutMs: 30_000, what: "exactly one leader" });
    const follower = leader === a ? b : a;

    await apply(cr("ha", { replicas: 1 }));
    await waitReady(ns.name, "ha");
    // Write requests other than the election's own (the label is the
    // resource's full name: both replicas create or update the Lease, and a
    // standby that raced the leader to create it has a 409 create of it).
    const writesBy = async (op: OperatorProcess) =>
      (await op.metrics())
        .split("\n")
        .filter(
          (l) =>
            l.startsWith("rtcd_operator_api_requests_total{") &&
            !l.includes('resource="leases.coordination.k8s.io"'),
        )
        .filter((l) => /verb="(create|apply|patch|update|delete)"/.test(l));
    const count = (lines: string[]) => lines.reduce((s, l) => s + Number(l.split(" ").pop()), 0);
    const followerWrites = await writesBy(follower);
    expect(count(followerWrites), `the follower's writes:\n${followerWrites.join("\n")}`).toBe(0);
    expect(count(await writesBy(leader))).toBeGreaterThan(0);

    const killedAt = Date.now();
    await leader.stop("SIGKILL");
    await waitFor(async () => (await follower.metricValue("leader_election_master_status")) === 1, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: "the follower to take the lease",
    });
    const takeover = (Date.now() - killedAt) / 1000;
    process.stderr.write(`[resilience] leader takeover after ${takeover.toFixed(1)} s\n`);
    expect(takeover).toBeLessThan(20);

    // The new leader reconciles changes.
    await apply(cr("ha", { replicas: 2 }));
    const ready = await waitReady(ns.name, "ha", 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\nnew leader's last logs:\n${follower.logs.slice(-25).join("\n")}`, {
        cause: err,
      });
    });
    expect(ready.status?.readyReplicas).toBe(2);
  });
});
