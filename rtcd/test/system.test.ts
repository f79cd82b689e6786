// /system's load beyond rtcd's host formula (our CPU budget) and the choice
// of worker for a new call.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test, vi } from "vitest";
import { pickWorker } from "../src/media/worker-load.ts";
import { CPULoadSampler, cpuBudget, parseCPUList, pinnedCPUs, readIdleSeconds } from "../src/system.ts";

describe("cpu_load with our own CPU budget", () => {
  test("an idle host but a saturated budget reads as loaded", () => {
    // 4 idle CPU-seconds per second on the host; we use 1.9 of our 2 CPUs.
    const idle = [0, 4, 8];
    let own = 0;
    const s = new CPULoadSampler(() => idle.shift(), { seconds: () => (own += 1.9), budget: 2 }, 4);
    s.sample(0);
    s.sample(1000);
    // idle left in our budget: 2 - 1.9 = 0.1 CPU-seconds -> load 10
    expect(s.load).toBeCloseTo(10);
  });

  test("without a quota (the budget is every CPU) the host's idle time alone decides", () => {
    // The host's idle time already excludes what we use; our own figure adds
    // only its measuring skew (the workers' CPU arrives a second late, in
    // lumps), which read a host as saturated mid-burst (0.66 -> 64 in one
    // second on one of three co-located rtcds, 123 -> 15 on another).
    const idle = [0, 1.5, 3];
    const lumps = [0, 1.98, 2.1];
    const s = new CPULoadSampler(() => idle.shift(), { seconds: () => lumps.shift()!, budget: 2 }, 2);
    s.sample(0);
    s.sample(1000);
    expect(s.load).toBeCloseTo(1 / 1.5);
    s.sample(2000);
    expect(s.load).toBeCloseTo(1 / 1.5);
  });

  test("a busy host still wins when it has less idle time than our budget", () => {
    const idle = [0, 0.5];
    const s = new CPULoadSampler(() => idle.shift(), { seconds: () => 0, budget: 4 }, 8);
    s.sample(0);
    s.sample(1000);
    expect(s.load).toBeCloseTo(2);
  });

  test("over budget is the maximum load, not a negative one", () => {
    const idle = [0, 4];
    let own = 0;
    const s = new CPULoadSampler(() => idle.shift(), { seconds: () => (own += 3), budget: 2 }, 4);
    s.sample(0);
    s.sample(1000);
    expect(s.load).toBe(1e6);
  });

  test("the budget comes from the cgroup quota (v1 and v2), else the CPUs", () => {
    const v2 = mkdtempSync(join(tmpdir(), "cg2-"));
    writeFileSync(join(v2, "cpu.max"), "50000 100000\n");
    expect(cpuBudget(v2)).toBe(Math.min(0.5, availableParallelism()));
    writeFileSync(join(v2, "cpu.max"), "max 100000\n");
    expect(cpuBudget(v2)).toBe(availableParallelism());
    const v1 = mkdtempSync(join(tmpdir(), "cg1-"));
    mkdirSync(join(v1, "cpu"));
    writeFileSync(join(v1, "cpu", "cpu.cfs_quota_us"), "100000\n");
    writeFileSync(join(v1, "cpu", "cpu.cfs_period_us"), "100000\n");
    expect(cpuBudget(v1)).toBe(1);
    writeFileSync(join(v1, "cpu", "cpu.cfs_quota_us"), "-1\n");
    expect(cpuBudget(v1)).toBe(availableParallelism());
    expect(cpuBudget(join(v1, "absent"))).toBe(availableParallelism());
  });
});

describe("placing a new call", () => {
  const w = (name: string, recent: number, sessions: number) => ({ name, recent, sessions, cpuSeconds: 0 });

  test("the worker with the least recent CPU, whatever its session count", () => {
    expect(pickWorker([w("a", 0.6, 1), w("b", 0.1, 9)]).name).toBe("b");
  });

  test("near-equal CPU: the fewest sessions", () => {
    expect(pickWorker([w("a", 0.11, 5), w("b", 0.12, 2), w("c", 0.13, 3)]).name).toBe("b");
  });

  test("no workers is an error", () => {
    expect(() => pickWorker([])).toThrow();
  });
});

describe("when the CPU is sampled", () => {
  test("measured only once two readings give a load", () => {
    const idle = [0, 1];
    const s = new CPULoadSampler(() => idle.shift());
    expect(s.measured).toBe(false);
    s.sample(0);
    expect(s.measured).toBe(false);
    s.sample(1000);
    expect(s.measured).toBe(true);
  });

  test("a window much shorter than the interval gives no load: it would be the counter's granularity, not the CPU", () => {
    // /proc/stat counts idle time in 10 ms ticks: over a few milliseconds it
    // reads 0 ticks (a saturated host, 1e6) or 1 (an idle one, 0.5 for 5 ms),
    // whatever the CPU did. Such a window happens at start (the first reading
    // is taken at once, the second at the next whole second, which may be
    // 5 ms later) and whenever a timer fires twice around one whole second;
    // its load would stand for a whole second, and co-located rtcds would
    // answer the plugin a 100x apart.
    // The readings at 995, 2000 and 3000 ms (a skipped sample reads nothing).
    const idle = [10, 11.9, 13.9];
    const s = new CPULoadSampler(() => idle.shift());
    s.sample(995);
    s.sample(1000);
    expect(s.measured, "5 ms after the first reading: no load yet").toBe(false);
    expect(s.load).toBe(0);
    s.sample(2000);
    expect(s.measured).toBe(true);
    // 1.9 idle CPU-seconds over the 1.005 s since the first reading.
    expect(s.load).toBeCloseTo(1.005 / 1.9);
    const before = s.load;
    s.sample(2004);
    expect(s.load, "a second reading 4 ms later changes nothing").toBe(before);
    s.sample(3000);
    // The window runs from 2000, the last reading that gave a load.
    expect(s.load).toBeCloseTo(1 / 2);
  });

  test("on whole seconds of the wall clock, so rtcds on one host sample the same interval", () => {
    // Seen in the burst test: three rtcds on one machine sampling a second
    // apart in phase read 0.69 and 100+ during the same burst (one window
    // ended just before the burst's CPU, the others inside it), and the one
    // reading 0.69 took 18 of 30 calls.
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1, 12, 0, 0, 300) });
    try {
      let reads = 0;
      const s = new CPULoadSampler(() => {
        reads++;
        return 1;
      });
      s.start(1000);
      expect(reads, "the first reading at start").toBe(1);
      vi.advanceTimersByTime(699);
      expect(reads, "before the next whole second").toBe(1);
      vi.advanceTimersByTime(1);
      expect(reads, "at 12:00:01.000").toBe(2);
      expect(Date.now() % 1000).toBe(0);
      vi.advanceTimersByTime(1000);
      expect(reads, "at 12:00:02.000").toBe(3);
      s.stop();
      vi.advanceTimersByTime(5000);
      expect(reads, "stopped").toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("cpu_load of an rtcd pinned to some CPUs", () => {
  // Two CPUs: cpu0 fully busy (no idle ticks added), cpu1 idle (100 ticks a second).
  const stat = (t: number) =>
    [
      `cpu  ${400 * t} 0 ${100 * t} ${1000 + 100 * t} 0 0 0 0 0 0`,
      `cpu0 ${200 * t} 0 ${100 * t} 500 0 0 0 0 0 0`,
      `cpu1 ${200 * t} 0 0 ${500 + 100 * t} 0 0 0 0 0 0`,
      "intr 1 2 3",
    ].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "stat-"));
  const at = (t: number) => {
    const f = join(dir, `stat-${t}`);
    writeFileSync(f, stat(t));
    return f;
  };

  test("only the idle time of its own CPUs counts: a saturated CPU reads saturated on an idle host", () => {
    expect(readIdleSeconds(at(1))).toBe(11);
    expect(readIdleSeconds(at(1), new Set([0]))).toBe(5);
    expect(readIdleSeconds(at(1), new Set([1]))).toBe(6);
    // Sampled a second apart: host-wide 1 idle CPU-second (load 1); cpu0 none.
    const host = [readIdleSeconds(at(1)), readIdleSeconds(at(2))];
    const pinned0 = [readIdleSeconds(at(1), new Set([0])), readIdleSeconds(at(2), new Set([0]))];
    const a = new CPULoadSampler(() => host.shift());
    const b = new CPULoadSampler(() => pinned0.shift());
    for (const s of [a, b]) {
      s.sample(0);
      s.sample(1000);
    }
    expect(a.load).toBeCloseTo(1);
    expect(b.load).toBe(1e6);
  });

  test("a CPU it may use that /proc/stat does not list (offline) has no idle time; none listed, no figure", () => {
    expect(readIdleSeconds(at(3), new Set([0, 7]))).toBe(5);
    expect(readIdleSeconds(at(3), new Set([7]))).toBeUndefined();
  });

  test("the CPUs come from Cpus_allowed_list, and only when fewer than the host's", () => {
    const status = join(dir, "status");
    writeFileSync(status, "Name:\tnode\nCpus_allowed:\t1\nCpus_allowed_list:\t1\n");
    expect(pinnedCPUs(status, at(4))).toEqual(new Set([1]));
    writeFileSync(status, "Cpus_allowed_list:\t0-1\n");
    expect(pinnedCPUs(status, at(4)), "every CPU: the host's line").toBeUndefined();
    writeFileSync(status, "Name:\tnode\n");
    expect(pinnedCPUs(status, at(4))).toBeUndefined();
    expect(pinnedCPUs(join(dir, "absent"), at(4))).toBeUndefined();
  });

  test("the kernel's CPU list format, and refusals", () => {
    expect(parseCPUList("0-3,6,8-9\n")).toEqual(new Set([0, 1, 2, 3, 6, 8, 9]));
    expect(parseCPUList("5")).toEqual(new Set([5]));
    for (const bad of ["", "a", "3-1", "1,,2", "0-99999999"]) expect(parseCPUList(bad), bad).toBeUndefined();
  });
});
