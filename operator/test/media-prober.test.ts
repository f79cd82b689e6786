// When the operator probes a pod: at once when it becomes ready, then every
// spec.probes.media.intervalSeconds, in the background (a reconcile never
// waits for a call), and events only on transitions.
import { describe, expect, it } from "vitest";
import type { V1Pod } from "@kubernetes/client-node";
import { GROUP, KIND, VERSION, applyDefaults, type MattermostRTCDSpec } from "../src/api/index.ts";
import { createLogger } from "../src/util/log.ts";
import { MediaProber } from "../src/probe/prober.ts";
import type { ProbeEvent } from "../src/probe/condition.ts";
import type { PodProbeTarget } from "../src/probe/runner.ts";
import type { ProbeOutcome } from "../src/probe/types.ts";

const cr = (spec: MattermostRTCDSpec = {}) =>
  applyDefaults({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    metadata: { name: "rtcd", namespace: "calls", uid: "u" },
    spec,
  });

const pod = (name: string, readySince = "2026-01-01T00:00:00Z", ready = true): V1Pod => ({
  metadata: { name, namespace: "calls", uid: `uid-${name}` },
  status: {
    phase: "Running",
    podIP: "10.0.0.1",
    conditions: [
      { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: readySince as unknown as Date },
    ],
  },
});

function harness(udpOk: () => boolean) {
  let now = 1_000_000;
  const calls: PodProbeTarget[] = [];
  const pending: (() => void)[] = [];
  const events: ProbeEvent[] = [];
  const results: string[] = [];
  // Every finished probe, whether or not it enqueued its instance.
  const finished: string[] = [];
  const prober = new MediaProber({
    resolve: () => "http://10.0.0.1:8045",
    onResult: (ns, name) => results.push(`${ns}/${name}`),
    metrics: { observed: (_ns, _name, pod) => finished.push(pod), forgetPod: () => {} },
    onEvent: (_ns, _n, e) => events.push(e),
    log: createLogger({ write: () => {} }),
    now: () => now,
    probe: (t) => {
      calls.push(t);
      const out = (["udp", "tcp"] as const).map((transport): ProbeOutcome => {
        const ok = transport === "tcp" || udpOk();
        return {
          transport,
          ok,
          reason: ok ? "ok" : "ICETimeout",
          message: ok ? "fine" : "no ICE",
          durationMs: 5,
        };
      });
      // Finishes only when the test says: the reconcile must not wait for it.
      return new Promise((resolve) => pending.push(() => resolve(out)));
    },
  });
  const finish = async () => {
    const n = finished.length;
    await settle(() => pending.length > 0);
    const running = pending.splice(0);
    for (const p of running) p();
    await settle(() => finished.length >= n + running.length);
  };
  return { prober, calls, events, results, finish, advance: (ms: number) => (now += ms) };
}

async function settle(fn: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setImmediate(r));
  if (!fn()) throw new Error("timed out waiting for the prober");
}

describe("MediaProber", () => {
  it("is off with intervalSeconds 0: no probe, no condition", () => {
    const h = harness(() => true);
    expect(h.prober.sync(cr({ probes: { media: { intervalSeconds: 0 } } }), [pod("a")], "k")).toEqual({});
    expect(h.calls).toHaveLength(0);
  });

  it("probes a ready pod at once without waiting for it, then on the interval", async () => {
    const h = harness(() => true);
    const spec = cr({ probes: { media: { intervalSeconds: 60, timeoutSeconds: 3 } } });
    const first = h.prober.sync(spec, [pod("a"), pod("b", "", false)], "k");
    await settle(() => h.calls.length > 0);
    expect(h.calls).toEqual([{ base: "http://10.0.0.1:8045", adminKey: "k", timeoutMs: 3000 }]);
    expect(first.condition).toMatchObject({ status: "Unknown", reason: "Probing" });
    await h.finish();
    expect(h.results).toEqual(["calls/rtcd"]);
    const after = h.prober.sync(spec, [pod("a")], "k");
    expect(after.condition).toMatchObject({ status: "True", reason: "AllPodsReachable" });
    expect(after.requeueAfterMs).toBe(60_000);
    h.advance(59_000);
    h.prober.sync(spec, [pod("a")], "k");
    expect(h.calls).toHaveLength(1);
    h.advance(1_000);
    const second = h.prober.sync(spec, [pod("a")], "k");
    await settle(() => h.calls.length === 2);
    expect(second.requeueAfterMs).toBe(60_000);
    // A reconcile while it runs does not count on its result to come back.
    expect(h.prober.sync(spec, [pod("a")], "k").requeueAfterMs).toBe(60_000);
    await h.finish();
    // Still AllPodsReachable: nothing to write, so no reconcile for it.
    expect(h.results).toEqual(["calls/rtcd"]);
  });

  it("probes again at once when the pod becomes ready again", async () => {
    const h = harness(() => true);
    const spec = cr({ probes: { media: { intervalSeconds: 300 } } });
    h.prober.sync(spec, [pod("a")], "k");
    await h.finish();
    h.prober.sync(spec, [pod("a", "2026-01-01T00:10:00Z")], "k");
    await settle(() => h.calls.length === 2);
  });

  it("records an event when UDP starts failing and when it recovers, not every interval", async () => {
    let udp = false;
    const h = harness(() => udp);
    const spec = cr({ probes: { media: { intervalSeconds: 10 } } });
    h.prober.sync(spec, [pod("a")], "k");
    await h.finish();
    expect(h.prober.sync(spec, [pod("a")], "k").condition).toMatchObject({
      status: "False",
      reason: "UDPUnreachable",
      message: "pod a: UDP ICETimeout: no ICE",
    });
    h.advance(10_000);
    h.prober.sync(spec, [pod("a")], "k");
    await h.finish();
    udp = true;
    h.advance(10_000);
    h.prober.sync(spec, [pod("a")], "k");
    await h.finish();
    expect(h.events.map((e) => e.reason)).toEqual(["MediaProbeFailed", "MediaProbeRecovered"]);
  });

  it("a restarted operator keeps the CR's last condition until its own probe, and re-announces nothing that did not change", async () => {
    // What the previous operator process wrote: UDP failing on pod a.
    const h = harness(() => false);
    const first = cr();
    h.prober.sync(first, [pod("a")], "k");
    await h.finish();
    const before = h.prober.sync(first, [pod("a")], "k").condition!;
    expect(before).toMatchObject({ status: "False", reason: "UDPUnreachable" });
    expect(h.events.map((e) => e.reason)).toEqual(["MediaProbeFailed"]);

    // A new process: nothing probed yet, the CR's status carries the condition.
    const again = harness(() => false);
    const restarted = cr();
    restarted.status = {
      conditions: [{ type: "MediaReachable", lastTransitionTime: "2026-01-01T00:00:00Z", ...before }],
    };
    expect(again.prober.sync(restarted, [pod("a")], "k").condition).toEqual(before);
    await again.finish();
    expect(again.prober.sync(restarted, [pod("a")], "k").condition).toEqual(before);
    expect(again.events).toEqual([]);
    // Its status already says so: the probe enqueues no second reconcile.
    expect(again.results).toEqual([]);

    // The same restart with UDP working again: that is news.
    const healed = harness(() => true);
    expect(healed.prober.sync(restarted, [pod("a")], "k").condition).toEqual(before);
    await healed.finish();
    expect(healed.results).toEqual(["calls/rtcd"]);
    expect(healed.prober.sync(restarted, [pod("a")], "k").condition).toMatchObject({ status: "True" });
    expect(healed.events.map((e) => e.reason)).toEqual(["MediaProbeRecovered"]);
  });
});
