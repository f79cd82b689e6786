// The media benchmark's table: each figure under its own column, for a run
// and for the ratios of a --compare (a column added to one and not the
// other shifted every ratio after it into its neighbour's column).
import { expect, test } from "vitest";
import { HEADER, ratioRow, ratios, row, type Result } from "../bench/bench-result.ts";

function result(target: Result["target"], f: number): Result {
  return {
    target,
    generator: "go",
    calls: 1,
    users: 200,
    unmuted: 2,
    screen: true,
    seconds: 20,
    forwardedPerSecond: 30000,
    expectedPerSecond: 30000,
    sfuCpuSeconds: 4 * f,
    sfuCpuSecondsByProcess: [4 * f],
    sfuCpuPercent: 20 * f,
    sfuCpuMsPer1kPackets: 6 * f,
    sfuRestRssMiB: 20 * f,
    sfuPeakRssMiB: 120 * f,
    sfuPeakRssMiBByProcess: [120 * f],
    sfuRssPerSessionKiB: 512 * f,
    audioLossPercent: 0,
    worstReceiverAudioLossPercent: 0,
    videoLossPercent: 0,
    videoHighLayerPercent: 50,
    probesPerSecond: null,
    latencyMs: { p50: 2 * f, p99: 10 * f, samples: 100 },
    videoLatencyMs: null,
    joinMs: { p50: 200 * f, p99: 300 * f, max: 400, concurrency: 4 },
    generatorStats: {
      cpuSeconds: 1,
      cpuPercentOfOneCore: 5,
      sendRatePercent: 100,
      peakRssMiB: 50,
      eventLoopDelayP99Ms: null,
      udpDrops: 0,
    },
    machineBusyPercent: 50,
    udpRcvbufErrors: 0,
    sfuUdpDrops: 0,
    errors: [],
  };
}

const cell = (cells: string[], column: string) => {
  const i = HEADER.indexOf(column);
  expect(i, `no column "${column}" in ${JSON.stringify(HEADER)}`).toBeGreaterThanOrEqual(0);
  return cells[i];
};

test("a run's row has a cell per column, memory at rest, at peak and per session among them", () => {
  const r = row(result("ours", 1));
  expect(r).toHaveLength(HEADER.length);
  expect(cell(r, "SFU CPU ms / 1k pkt")).toBe("6");
  expect(cell(r, "SFU RSS MiB rest / peak")).toBe("20 / 120");
  expect(cell(r, "SFU RSS KiB / session")).toBe("512");
  expect(cell(r, "audio latency ms p50 / p99")).toBe("2 / 10");
  expect(cell(r, "UDP drops SFU / gen")).toBe("0 / 0");
});

test("the ratio row puts each ratio under its figure's column", () => {
  const q = ratioRow("", ratios(result("ours", 1), result("mattermost", 2)));
  expect(q).toHaveLength(HEADER.length);
  expect(cell(q, "SFU CPU %")).toBe("2");
  expect(cell(q, "SFU CPU ms / 1k pkt")).toBe("**2**");
  expect(cell(q, "SFU RSS MiB rest / peak")).toBe("2 / 2");
  expect(cell(q, "SFU RSS KiB / session")).toBe("2");
  expect(cell(q, "probes pkt/s (kbit/s)")).toBe("");
  expect(cell(q, "audio latency ms p50 / p99")).toBe("2 / 2");
  expect(cell(q, "join ms p50 / p99")).toBe("2 / 2");
});
