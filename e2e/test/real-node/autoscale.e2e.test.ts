// spec.autoscaling on real nodes with real calls (issue #19): calls from the
// Go/pion load generator push one rtcd pod past its session target, and a
// second pod must appear and become Ready within a stated bound; then the
// calls on the first pod end while a call runs on the second, and the
// operator must remove the pod without sessions and keep the one with the
// live call. Every deletion is recorded with the sessions the pod's own rtcd
// reported at that moment, a WatchedCall per pod detects drops, and the run
// is written as a timeline (the data of docs/autoscaling-ramp.svg).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  applyCrd,
  cr,
  getJson,
  kubectl,
  quietFor,
  startOperator,
  useCluster,
  useNamespace,
  waitFor,
  waitReady,
  type OperatorProcess,
} from "../../src/testing/index.ts";
import {
  ensureRealNodes,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeSkipReason,
  WatchedCall,
  podStates,
  realNodesReleased,
} from "../../src/testing/real-node.ts";
import { AutoscaleRecorder, rtcdLoad } from "../../src/testing/autoscale-recorder.ts";
import { LoadCall } from "../../src/testing/load-call.ts";
import { repoRoot } from "../../src/testing/providers.ts";
import { registryImage } from "../../src/testing/registry.ts";

const skip = realNodeSkipReason();
if (skip) process.stderr.write(`[real-node autoscale] skipped: ${skip}\n`);

const NAME = "ramp";
const API_PORT = 8045;
const TARGET = 4;
const WINDOW_S = 20;
const INTERVAL = "1s";
const AT_TARGET_MS = 30_000;
// Measured on the loaded 2-core CI machine, then doubled and rounded up (see
// the report in docs/autoscaling.md): from the moment the first pod's
// /metrics shows sessions past target to the second pod Ready.
const SCALE_UP_BOUND_S = 60;
// From the end of the last call on the old pod to that pod terminating: the
// window plus sampling, the write and the ReplicaSet's deletion.
const SCALE_DOWN_BOUND_S = WINDOW_S + 40;
const TIMELINE = process.env["MMRTCD_AUTOSCALE_TIMELINE"] ?? join(repoRoot, ".tmp", "autoscale-ramp.json");

const ns = skip ? { name: "unused" } : useNamespace("autoscale-real");
let op: OperatorProcess | undefined;
let rec: AutoscaleRecorder | undefined;
const watched: WatchedCall[] = [];
const loads: LoadCall[] = [];
const results: { name: string; errors: string[]; audioLossPercent: number }[] = [];
const timings: string[] = [];

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  status: { podIP?: string; conditions?: { type: string; status: string }[] };
}
const servingPods = async (): Promise<Pod[]> =>
  (
    await getJson<{ items: Pod[] }>([
      "get",
      "pods",
      "-n",
      ns.name,
      "-l",
      `app.kubernetes.io/instance=${NAME}`,
    ])
  ).items.filter(
    (p) =>
      !p.metadata.deletionTimestamp &&
      (p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false),
  );

async function startLoad(ip: string, name: string, users: number): Promise<LoadCall> {
  const l = await LoadCall.start(ip, API_PORT, name, users);
  loads.push(l);
  return l;
}

async function endLoad(l: LoadCall, name: string): Promise<void> {
  const r = await l.end();
  results.push({ name, errors: r.errors, audioLossPercent: r.audioLossPercent });
}

describe.skipIf(!!skip)("autoscaling on real nodes with real calls", () => {
  beforeAll(async () => {
    const c = await useCluster();
    await ensureRealNodes(2);
    await applyCrd();
    op = await startOperator(
      c.kubeconfig,
      ["--namespace", ns.name, "--retry-max-delay", "2s", "--autoscale-interval", INTERVAL],
      c.env,
    );
    await waitFor(async () => op!.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
  }, 2_700_000);

  afterAll(async () => {
    for (const l of loads) await l.end().catch(() => undefined);
    for (const w of watched) await w.end().catch(() => undefined);
    if (rec) {
      await rec.stop().catch(() => undefined);
      mkdirSync(dirname(TIMELINE), { recursive: true });
      const tl = rec.timeline(
        `Autoscaling on 2 real nodes: targetSessionsPerPod ${TARGET}, min 1, max 2, bufferPods 0, window ${WINDOW_S} s, --autoscale-interval ${INTERVAL}`,
        TARGET,
      );
      writeFileSync(TIMELINE, `${JSON.stringify(tl, null, 1)}\n`);
      timings.push(`timeline: ${TIMELINE} (${tl.samples.length} samples)`);
    }
    process.stdout.write(
      `\n[real-node autoscale]\n${timings.map((t) => `  ${t}`).join("\n")}\n` +
        results
          .map((r) => `  loadgen ${r.name}: loss ${r.audioLossPercent}%, errors ${r.errors.length}\n`)
          .join("") +
        watched.map((w) => `  ${w.dropped ? "DROPPED " : ""}${w.describe()}\n`).join(""),
    );
    await kubectl([
      "delete",
      "mattermostrtcd",
      NAME,
      "-n",
      ns.name,
      "--ignore-not-found",
      "--wait=true",
    ]).catch(() => undefined);
    const code = await op?.stop();
    await realNodesReleased(ns.name);
    expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
  });

  test("a ramp of calls past target adds a pod in time; ramping down removes the empty pod, never the one with a call; no call drops", async () => {
    await kubectl(["apply", "-n", ns.name, "-f", "-"], {
      input: cr(NAME, {
        image: registryImage("rtcd"),
        nodeSelector: { [REAL_NODE_LABEL]: "true" },
        tolerations: [{ ...REAL_NODE_TAINT, operator: "Equal" }],
        rtcd: { security: { allowSelfRegistration: true } },
        // The chart e2e's probe timing: the default 30 s initial delay would
        // be most of the scale-up time (docs/autoscaling.md says so).
        probes: { readiness: { initialDelaySeconds: 1, periodSeconds: 2 } },
        autoscaling: {
          minReplicas: 1,
          maxReplicas: 2,
          targetSessionsPerPod: TARGET,
          bufferPods: 0,
          scaleDownStabilizationSeconds: WINDOW_S,
        },
      }),
    });
    await waitReady(ns.name, NAME, 240_000);
    rec = new AutoscaleRecorder(ns.name, NAME, API_PORT);
    const [a] = await waitFor(
      async () => {
        const ps = await servingPods();
        return ps.length === 1 ? ps : undefined;
      },
      { timeoutMs: 60_000, what: "one serving pod" },
    );
    const aIp = a!.status.podIP!;

    // Ramp up on pod A: a watched call (2 sessions), a call of 2 (4: at target), a call of 3 (7: past it).
    watched.push(await WatchedCall.start(aIp, API_PORT, "watch-a"));
    await (
      await startLoad(aIp, "a1", 2)
    ).flowing;
    rec.mark("A at target");
    // At target exactly (4 sessions, 4 per pod, no buffer) the fleet must not
    // grow. Held for AT_TARGET_MS, which also makes pod A much older than pod
    // B will be at scale-down: the ReplicaSet controller, among pods of equal
    // deletion cost, removes the one Ready for less time (log2 buckets), i.e.
    // B. So only the operator's deletion costs can make it remove A; with the
    // costs forced to 0 this test fails (checked once, see docs/autoscaling.md).
    await quietFor(AT_TARGET_MS, {
      intervalMs: 1000,
      check: async () => {
        expect((await servingPods()).length, "pods while load is at target").toBe(1);
        expect(rec!.latest()?.desiredReplicas ?? 1, "desired replicas at target").toBe(1);
      },
    });
    const a2 = await startLoad(aIp, "a2", 3);
    await waitFor(async () => ((await rtcdLoad(aIp, API_PORT)).sessions ?? 0) > TARGET, {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: `pod A's sessions past ${TARGET}`,
    });
    const tPast = Date.now();
    rec.mark("A past target");
    // A timeout names the pods, why they are not scheduled or not ready,
    // and the autoscaler's last state the recorder saw.
    let states = "";
    const b = await waitFor(
      async () => {
        const found = (await servingPods()).find((p) => p.metadata.name !== a!.metadata.name);
        if (!found) states = await podStates(ns.name);
        return found;
      },
      {
        timeoutMs: 240_000,
        intervalMs: 250,
        get what() {
          return `a second pod Ready; pods: ${states}; last sample: ${JSON.stringify(rec?.latest())}`;
        },
      },
    );
    const upS = (Date.now() - tPast) / 1000;
    rec.mark("B Ready");
    timings.push(
      `scale-up: second pod Ready ${upS.toFixed(1)} s after A's sessions passed the target (bound ${SCALE_UP_BOUND_S} s)`,
    );
    await a2.flowing;

    // A call on the new pod B, then every call on A ends.
    const bIp = b.status.podIP!;
    const watchB = await WatchedCall.start(bIp, API_PORT, "watch-b");
    watched.push(watchB);
    const b1 = await startLoad(bIp, "b1", 2);
    await b1.flowing;
    await endLoad(loads[0]!, "a1");
    await endLoad(a2, "a2");
    await watched[0]!.end();
    await waitFor(async () => (await rtcdLoad(aIp, API_PORT)).sessions === 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: "pod A without sessions",
    });
    const tEmpty = Date.now();
    rec.mark("A's calls ended");

    // The operator removes A (no sessions), not B (a live call).
    // The first pod the operator's scale-down removes must be A, empty.
    const gone = await waitFor(async () => rec!.deletions[0], {
      timeoutMs: (WINDOW_S + 120) * 1000,
      intervalMs: 250,
      what: "a pod deleted by the scale-down",
    });
    const downS = (Date.now() - tEmpty) / 1000;
    rec.mark(`${gone.pod === a!.metadata.name ? "A" : "B"} deleted`);
    timings.push(
      `scale-down: pod A terminating ${downS.toFixed(1)} s after its last session ended (window ${WINDOW_S} s, bound ${SCALE_DOWN_BOUND_S} s)`,
    );
    expect(gone, "the pod removed first, with the sessions its rtcd held then").toMatchObject({
      pod: a!.metadata.name,
      sessions: 0,
    });
    // An empty rtcd exits at once on SIGTERM, so "then" may be the sample
    // before it was seen terminating; never an older one.
    expect(
      gone.t - (gone.loadT ?? -Infinity),
      "seconds between the load read and the deletion",
    ).toBeLessThanOrEqual(3);

    // B keeps its call: nothing deletes it while the call runs.
    await quietFor(10_000, {
      intervalMs: 1000,
      check: () => {
        expect(rec!.deletions.map((d) => d.pod)).not.toContain(b.metadata.name);
      },
    });
    await watchB.flows(50);
    await endLoad(b1, "b1");
    await watchB.end();
    await rec.stop();

    // Every deletion of the whole run, with what the pod held then: only A, empty.
    expect(rec.deletions.map((d) => ({ pod: d.pod, sessions: d.sessions }))).toEqual([
      { pod: a!.metadata.name, sessions: 0 },
    ]);
    expect(watched.filter((w) => w.dropped).map((w) => w.describe())).toEqual([]);
    expect(results.filter((r) => r.errors.length)).toEqual([]);
    expect(upS).toBeLessThan(SCALE_UP_BOUND_S);
    expect(downS).toBeLessThan(SCALE_DOWN_BOUND_S);
  });
});
