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
