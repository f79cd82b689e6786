// What the operator's /metrics costs per instance: a fleet of 1000
// MattermostRTCDs is scraped as one target, so every per-instance series is
// multiplied by the fleet (and the whole text is rendered on each scrape).
import { describe, expect, it } from "vitest";
import { createMetrics } from "../src/controller/metrics.ts";
import type { ProbeOutcome } from "../src/probe/types.ts";

const outcome = (transport: "udp" | "tcp", ok: boolean, durationMs: number): ProbeOutcome => ({
  transport,
  ok,
  reason: ok ? "ok" : "ICETimeout",
  message: ok ? "" : "no ICE",
  durationMs,
});

/** Series lines of the text exposition that carry the instance's labels. */
function seriesOf(text: string, name: string): string[] {
  return text.split("\n").filter((l) => !l.startsWith("#") && l.includes(`name="${name}"`));
}

describe("operator metrics", () => {
  it("a probed pod adds 2 series per transport: success and the last call's time", async () => {
    const m = createMetrics();
    m.mediaProbe.observed("ns", "rtcd-a", "rtcd-a-0", [
      outcome("udp", true, 800),
      outcome("tcp", false, 5000),
    ]);
    const text = await m.registry.metrics();
    expect(seriesOf(text, "rtcd-a").sort()).toEqual([
      'rtcd_operator_media_probe_last_duration_seconds{namespace="ns",name="rtcd-a",pod="rtcd-a-0",transport="tcp"} 5',
      'rtcd_operator_media_probe_last_duration_seconds{namespace="ns",name="rtcd-a",pod="rtcd-a-0",transport="udp"} 0.8',
      'rtcd_operator_media_probe_success{namespace="ns",name="rtcd-a",pod="rtcd-a-0",transport="tcp"} 0',
      'rtcd_operator_media_probe_success{namespace="ns",name="rtcd-a",pod="rtcd-a-0",transport="udp"} 1',
    ]);
    // The distribution of call times is the fleet's, per transport.
    expect(text).toContain('rtcd_operator_media_probe_duration_seconds_count{transport="udp"} 1');
    m.mediaProbe.forgetPod("ns", "rtcd-a", "rtcd-a-0");
    expect(seriesOf(await m.registry.metrics(), "rtcd-a")).toEqual([]);
  });
});
