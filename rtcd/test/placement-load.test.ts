// /system's cpu_load as the plugin's placement reads it: the CPU sample
// blended with what the host admitted in the last few seconds, and the
// highest load while draining.
import { describe, expect, test } from "vitest";
import {
  admissionWeight,
  DRAINING_LOAD,
  HOLD_MS,
  JITTER,
  MAX_UNITS,
  placementLoad,
  RecentAdmissions,
  SATURATED_LOAD,
  UNIT_FACTOR,
  WINDOW_MS,
} from "../src/placement-load.ts";

const serving = { draining: false, budget: 2, random: 0 };

describe("an admission's weight", () => {
  test("counts fully while the sample cannot show it, then fades to nothing", () => {
    expect(admissionWeight(0)).toBe(1);
    expect(admissionWeight(HOLD_MS)).toBe(1);
    expect(admissionWeight((HOLD_MS + WINDOW_MS) / 2)).toBeCloseTo(0.5);
    expect(admissionWeight(WINDOW_MS)).toBe(0);
    expect(admissionWeight(60_000)).toBe(0);
    // Never rises with age.
    let prev = 1;
    for (let age = 0; age <= WINDOW_MS; age += 50) {
      const w = admissionWeight(age);
      expect(w).toBeLessThanOrEqual(prev);
      prev = w;
    }
  });
});

describe("recent admissions", () => {
  test("add up, then decay out of the window", () => {
    const r = new RecentAdmissions();
    r.add(10_000, 2); // a new call: its session and the call
    r.add(10_050, 1); // a session joining it
    expect(r.weighted(10_100)).toBe(3);
    expect(r.weighted(10_000 + HOLD_MS)).toBe(3);
    const mid = r.weighted(10_000 + (HOLD_MS + WINDOW_MS) / 2);
    expect(mid).toBeGreaterThan(1);
    expect(mid).toBeLessThan(2);
    expect(r.weighted(10_000 + WINDOW_MS + 100)).toBe(0);
  });

  test("memory is fixed: a slot reused a window later forgets the old admissions", () => {
    const r = new RecentAdmissions();
    for (let t = 0; t < 60_000; t += 10) r.add(t, 1);
    // Only the last 5 s count; 500 admissions at 10 ms, weighted.
    const w = r.weighted(60_000);
    expect(w).toBeGreaterThan(300);
    expect(w).toBeLessThan(500);
    expect(r.weighted(120_000)).toBe(0);
  });
});

describe("the load the plugin reads", () => {
  test("without admissions it is the CPU sample", () => {
    expect(placementLoad({ ...serving, sampled: 0.7, recentUnits: 0 })).toBe(0.7);
  });

  test("each admission raises it, at any level, saturated hosts included", () => {
    for (const sampled of [0.25, 3, SATURATED_LOAD]) {
      const one = placementLoad({ ...serving, sampled, recentUnits: 2 });
      const two = placementLoad({ ...serving, sampled, recentUnits: 4 });
      expect(one).toBeCloseTo(sampled * UNIT_FACTOR ** 2);
      expect(two).toBeGreaterThan(one);
    }
  });

  test("a host that just took a call answers above one whose sample was twice as high, after two calls", () => {
    // Two calls (4 units) outweigh a 2x sample; one call (2 units) does not.
    const quiet = placementLoad({ ...serving, sampled: 1, recentUnits: 0 });
    const twice = 2 * quiet;
    expect(placementLoad({ ...serving, sampled: 1, recentUnits: 2 })).toBeLessThan(twice);
    expect(placementLoad({ ...serving, sampled: 1, recentUnits: 4 })).toBeGreaterThan(twice);
  });

  test("as the admissions age out, it returns to the sample", () => {
    const r = new RecentAdmissions();
    r.add(0, 2);
    const at = (t: number) => placementLoad({ ...serving, sampled: 1, recentUnits: r.weighted(t) });
    expect(at(100)).toBeCloseTo(UNIT_FACTOR ** 2);
    expect(at(HOLD_MS + 1000)).toBeLessThan(at(HOLD_MS));
    expect(at(WINDOW_MS + 100)).toBe(1);
  });

  test("before two samples exist it reads as an idle budget, not 0", () => {
    // rtcd answers 0 then, which would win every placement of a burst.
    expect(placementLoad({ ...serving, sampled: 0, recentUnits: 0 })).toBe(0.5);
    expect(placementLoad({ ...serving, sampled: 0, recentUnits: 2 })).toBeGreaterThan(0.5);
  });

  test("is bounded whatever the sample, the admissions or the jitter", () => {
    const top = placementLoad({ ...serving, sampled: Infinity, recentUnits: 1e9, random: 1 });
    expect(top).toBe(SATURATED_LOAD * UNIT_FACTOR ** MAX_UNITS * (1 + JITTER));
    expect(Number.isFinite(top)).toBe(true);
    expect(top).toBeLessThan(DRAINING_LOAD);
    expect(placementLoad({ ...serving, sampled: NaN, recentUnits: -5 })).toBe(0.5);
  });

  test("saturated hosts read as equals, so admissions decide between them", () => {
    // Co-located hosts sampling the same saturated CPUs a fraction of a
    // second apart read 0 or a few ms of idle time: 1e6 or 1e3 on rtcd's
    // scale. Seen in a burst test on a loaded machine: the host whose sample
    // read 1e3 took every call for 100 ms. Both are a saturated host.
    const a = placementLoad({ ...serving, sampled: 1e3, recentUnits: 0 });
    const b = placementLoad({ ...serving, sampled: 1e6, recentUnits: 0 });
    expect(a).toBe(b);
    expect(placementLoad({ ...serving, sampled: 1e3, recentUnits: 2 })).toBeGreaterThan(b);
    // Below saturation the sample still orders hosts.
    expect(placementLoad({ ...serving, sampled: 5, recentUnits: 0 })).toBeLessThan(a);
  });

  test("a burst over saturated hosts whose samples swing 1000x still spreads within 1.5x", () => {
    // 30 calls placed one after another, each on the lowest answer; every
    // host's sample jumps at random between 1e3 and 1e6 (seeded).
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const hosts = [0, 1, 2].map(() => ({ units: 0, calls: 0 }));
    for (let call = 0; call < 30; call++) {
      const answers = hosts.map((h) =>
        placementLoad({
          ...serving,
          sampled: rand() < 0.5 ? 1e3 : 1e6,
          recentUnits: h.units,
          random: rand(),
        }),
      );
      const pick = hosts[answers.indexOf(Math.min(...answers))]!;
      pick.calls++;
      pick.units += 2;
    }
    const counts = hosts.map((h) => h.calls);
    expect(Math.max(...counts) / Math.min(...counts), JSON.stringify(counts)).toBeLessThanOrEqual(1.5);
  });

  test("jitter stays within its bounds", () => {
    expect(placementLoad({ ...serving, sampled: 1, recentUnits: 0, random: 0.5 })).toBe(1 + JITTER / 2);
    expect(placementLoad({ ...serving, sampled: 1, recentUnits: 0, random: 7 })).toBe(1 + JITTER);
  });

  test("while draining it is the highest load, above any serving host", () => {
    const d = placementLoad({ ...serving, draining: true, sampled: 0.1, recentUnits: 0 });
    expect(d).toBe(DRAINING_LOAD);
    expect(d).toBe(Number.MAX_VALUE);
    // What the plugin decodes: JSON keeps it exactly.
    expect(JSON.parse(JSON.stringify({ cpu_load: d })).cpu_load).toBe(Number.MAX_VALUE);
  });
});
