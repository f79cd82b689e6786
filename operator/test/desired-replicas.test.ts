// The autoscaler's decision, as a pure function of what it saw: the numbers a
// platform team relies on (grow at once past target, shrink only after the
// window, keep the buffer, stay within bounds, never shrink on missing data).
import { describe, expect, it } from "vitest";
import {
  cpuPercentFromLoad,
  desiredReplicas,
  type AutoscalerPolicy,
  type PodSample,
  type Recommendation,
} from "../src/autoscale/desired-replicas.ts";

const policy: AutoscalerPolicy = {
  minReplicas: 2,
  maxReplicas: 10,
  targetCPUPercent: 70,
  targetSessionsPerPod: 100,
  scaleDownStabilizationSeconds: 600,
  bufferPods: 1,
};

const pods = (n: number, s: Partial<PodSample>): PodSample[] =>
  Array.from({ length: n }, (_, i) => ({
    pod: `p${i}`,
    ready: true,
    draining: false,
    cpuPercent: 0,
    sessions: 0,
    ...s,
  }));

/** n pods holding `total` sessions between them, as evenly as whole sessions allow. */
const spread = (n: number, total: number): PodSample[] =>
  pods(n, {}).map((p, i) => ({ ...p, sessions: Math.floor(total / n) + (i < total % n ? 1 : 0) }));

/** Runs the function over a sequence of samples, one every 15 s, carrying replicas and history. */
function run(
  steps: { samples: (current: number) => PodSample[] }[],
  start: { current: number; p?: AutoscalerPolicy },
): number[] {
  let current = start.current;
  let history: Recommendation[] = [];
  const out: number[] = [];
  steps.forEach((step, i) => {
    const d = desiredReplicas({
      policy: start.p ?? policy,
      current,
      samples: step.samples(current),
      history,
      now: i * 15_000,
    });
    history = d.history;
    current = d.desired;
    out.push(current);
  });
  return out;
}

describe("desiredReplicas", () => {
  it("ramps up at once: sessions past target on every pod ask for the pods they need plus the buffer", () => {
    // 3 pods at 150 sessions each = 450 sessions; 450 / 100 per pod = 5 pods, +1 buffer.
    const d = desiredReplicas({
      policy,
      current: 3,
      samples: pods(3, { sessions: 150, cpuPercent: 30 }),
      history: [],
      now: 0,
    });
    expect(d.desired).toBe(6);
    expect(d.recommended).toBe(6);
    expect(d.load.sessions).toBe(450);
    expect(d.load.loadPercent).toBe(150);
  });

  it("takes the higher of CPU and sessions", () => {
    // CPU: 3 x 140% / 70% = 6 pods; sessions: 3 x 10 / 100 = 1 pod.
    const d = desiredReplicas({
      policy,
      current: 3,
      samples: pods(3, { sessions: 10, cpuPercent: 140 }),
      history: [],
      now: 0,
    });
    expect(d.desired).toBe(7);
    expect(d.load.loadPercent).toBe(200);
    expect(d.reason).toMatch(/cpu/i);
  });

  it("ramps down only after the stabilisation window, to the highest recommendation in it", () => {
    const busy = { samples: () => pods(6, { sessions: 90, cpuPercent: 60 }) }; // 540 sessions: 6 + 1
    const idle = { samples: (n: number) => pods(n, { sessions: 5, cpuPercent: 5 }) };
    // 41 idle samples of 15 s cover the 600 s window after the last busy one.
    const trace = run([busy, ...Array.from({ length: 42 }, () => idle)], { current: 6 });
    expect(trace[0]).toBe(7);
    // Inside the window: still 7.
    expect(trace.slice(1, 40)).toEqual(Array.from({ length: 39 }, () => 7));
    // Once the busy sample is older than 600 s: minReplicas (idle load needs 1 pod + 1 buffer = 2).
    expect(trace.at(-1)).toBe(2);
  });

  it("does not flap when load swings around the target: up at once, down only after a quiet window", () => {
    const high = { samples: (n: number) => spread(n, 500) };
    const low = { samples: (n: number) => spread(n, 150) };
    const trace = run(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? high : low)),
      { current: 3 },
    );
    // 500 sessions: 5 pods + 1 buffer; it stays there while the swings continue.
    expect(new Set(trace)).toEqual(new Set([6]));
  });

  it("keeps bufferPods above the load, so a burst lands on a warm pod", () => {
    const at = (bufferPods: number) =>
      desiredReplicas({
        policy: { ...policy, bufferPods },
        current: 4,
        samples: pods(4, { sessions: 100 }),
        history: [],
        now: 0,
      }).desired;
    expect(at(0)).toBe(4);
    expect(at(1)).toBe(5);
    expect(at(3)).toBe(7);
  });

  it("stays within minReplicas and maxReplicas, and moves back into them at once", () => {
    const d = (current: number, sessions: number) =>
      desiredReplicas({
        policy,
        current,
        samples: pods(current, { sessions }),
        history: [{ at: 0, replicas: 50 }],
        now: 1000,
      }).desired;
    expect(d(8, 1000)).toBe(10); // would be 81
    expect(d(12, 0)).toBe(10); // above max: down to max without waiting
    expect(d(1, 0)).toBe(2); // below min: up to min
    expect(d(2, 0)).toBe(2);
  });

  it("never scales down on missing data: an unready pod or a pod that did not answer holds the fleet", () => {
    const samples = pods(5, { sessions: 0, cpuPercent: 1 });
    samples[4] = { pod: "p4", ready: false, draining: false };
    const unready = desiredReplicas({ policy, current: 5, samples, history: [], now: 10_000_000 });
    expect(unready.desired).toBe(5);
    expect(unready.reason).toMatch(/missing/);

    const silent = pods(5, { sessions: 0, cpuPercent: 1 });
    silent[2] = { pod: "p2", ready: true, draining: false };
    expect(desiredReplicas({ policy, current: 5, samples: silent, history: [], now: 0 }).desired).toBe(5);

    expect(desiredReplicas({ policy, current: 5, samples: [], history: [], now: 0 }).desired).toBe(5);
  });

  it("lets a pod that never started (Pending: no node fits) not hold the fleet, as it holds no call", () => {
    const samples = [
      ...pods(3, { sessions: 0 }),
      { pod: "stuck", ready: false, draining: false, pending: true },
    ];
    const d = desiredReplicas({
      policy: { ...policy, scaleDownStabilizationSeconds: 0 },
      current: 4,
      samples,
      history: [],
      now: 0,
    });
    expect(d.missingData).toBe(false);
    expect(d.desired).toBe(2);
  });

  it("still scales up on partial data, counting a silent pod as idle (the growth is then a lower bound)", () => {
    const samples = pods(3, { sessions: 300 });
    samples[2] = { pod: "p2", ready: true, draining: false };
    // 600 known sessions: 6 pods + 1 buffer.
    expect(desiredReplicas({ policy, current: 3, samples, history: [], now: 0 }).desired).toBe(7);
  });

  it("does not count draining pods as capacity, but reports what they hold", () => {
    const samples = [
      ...pods(2, { sessions: 50 }),
      { pod: "old", ready: false, draining: true, sessions: 40 },
    ];
    const d = desiredReplicas({ policy, current: 2, samples, history: [], now: 0 });
    expect(d.load.readyPods).toBe(2);
    expect(d.load.drainingPods).toBe(1);
    expect(d.load.sessions).toBe(100);
    expect(d.desired).toBe(2);
  });

  it("after a restart (no history) waits a full window before the first scale-down", () => {
    const idle = { samples: (n: number) => pods(n, { sessions: 0 }) };
    const trace = run(
      Array.from({ length: 42 }, () => idle),
      { current: 6 },
    );
    expect(trace.slice(0, 40)).toEqual(Array.from({ length: 40 }, () => 6));
    expect(trace.at(-1)).toBe(2);
  });

  it("reports headroom: sessions the ready pods can still take at target", () => {
    const d = desiredReplicas({
      policy,
      current: 4,
      samples: pods(4, { sessions: 60, cpuPercent: 35 }),
      history: [],
      now: 0,
    });
    // Sessions allow 4 x 100 - 240 = 160; CPU at half its target allows 240 more sessions.
    expect(d.load.headroomSessions).toBe(160);
    expect(d.load.cpuPercent).toBe(35);
    expect(d.load.sessionsPerPod).toBe(60);
  });
});

describe("cpuPercentFromLoad", () => {
  it("turns rtcd's cpu_load (elapsed over idle CPU-seconds) into use of the pod's budget", () => {
    expect(cpuPercentFromLoad(1, 1)).toBe(0); // one CPU, all idle
    expect(cpuPercentFromLoad(2, 1)).toBe(50);
    expect(cpuPercentFromLoad(0.5, 4)).toBe(50); // four CPUs, two idle
    expect(cpuPercentFromLoad(1e6, 2)).toBe(100);
    expect(cpuPercentFromLoad(0, 2)).toBeUndefined(); // rtcd's first second: no sample yet
  });
});
