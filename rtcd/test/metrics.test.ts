import { describe, expect, test } from "vitest";
import { Metrics } from "../src/metrics.ts";

async function sample(metrics: Metrics, name: string): Promise<string> {
  return (await metrics.registry.getSingleMetricAsString(name))
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n");
}

describe("CPU against the budget", () => {
  // The dashboard's "CPU vs budget" panel and the capacity alert divide
  // one by the other; both must read what /system's cpu_load is based on.
  test("rtcd_cpu_seconds_total and rtcd_cpu_budget_cores report the process and workers' CPU and the budget", async () => {
    const metrics = new Metrics({ processMetrics: false });
    let used = 12.5;
    metrics.watchCPU({ seconds: () => used, budget: 2 });
    expect(await sample(metrics, "rtcd_cpu_seconds_total")).toBe("rtcd_cpu_seconds_total 12.5");
    expect(await sample(metrics, "rtcd_cpu_budget_cores")).toBe("rtcd_cpu_budget_cores 2");
    used = 14;
    expect(await sample(metrics, "rtcd_cpu_seconds_total")).toBe("rtcd_cpu_seconds_total 14");
  });
});

describe("rtcd_rtc_errors_total", () => {
  // rtcd's error series appear only once an error of that type happens; ours
  // start at 0 for every type when a group's first session joins, so rate()
  // and the alerts have a series from the start, and a dashboard built for
  // rtcd's series finds them all (test/mattermost.int.test.ts compares).
  test("a group's error counters exist at 0 for every type, rtcd's and ours, once it is seen", async () => {
    const metrics = new Metrics({ processMetrics: false });
    expect(await sample(metrics, "rtcd_rtc_errors_total")).toBe("");
    metrics.groupSeen("g1");
    metrics.groupSeen("g1");
    const lines = (await sample(metrics, "rtcd_rtc_errors_total")).split("\n").sort();
    expect(lines).toEqual(
      ["codec", "dtls", "ice", "rtp", "signaling", "signaling_lock_timeout", "track", "worker"]
        .map((type) => `rtcd_rtc_errors_total{groupID="g1",type="${type}"} 0`)
        .sort(),
    );
  });
});
