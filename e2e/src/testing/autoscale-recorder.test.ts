import { describe, expect, it } from "vitest";
import { sumGauge } from "./autoscale-recorder.ts";

describe("reading rtcd's gauges", () => {
  it("sums every groupID series of a gauge, and tells a missing gauge from 0", () => {
    const text = [
      "# HELP rtcd_rtc_sessions_total Total number of active RTC sessions",
      "# TYPE rtcd_rtc_sessions_total gauge",
      'rtcd_rtc_sessions_total{groupID="a"} 3',
      'rtcd_rtc_sessions_total{groupID="b"} 4',
      'rtcd_rtc_sessions_total_other{groupID="a"} 100',
      "rtcd_calls 2",
    ].join("\n");
    expect(sumGauge(text, "rtcd_rtc_sessions_total")).toBe(7);
    expect(sumGauge(text, "rtcd_calls")).toBe(2);
    expect(sumGauge(text, "rtcd_draining")).toBeUndefined();
  });
});
