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

// The cells of a row under the given columns, by column name.
function cells(r: string[], expected: Record<string, string>): void {
  expect(r).toHaveLength(HEADER.length);
  const missing = Object.keys(expected).filter((c) => !HEADER.includes(c));
  expect(missing, `columns not in ${JSON.stringify(HEADER)}`).toEqual([]);
  const got = Object.fromEntries(Object.keys(expected).map((c) => [c, r[HEADER.indexOf(c)]]));
  expect(got).toEqual(expected);
}

test("a run's row has a cell per column, memory at rest, at peak and per session among them", () => {
  cells(row(result("ours", 1)), {
    "SFU CPU ms / 1k pkt": "6",
    "SFU RSS MiB rest / peak": "20 / 120",
    "SFU RSS KiB / session": "512",
    "audio latency ms p50 / p99": "2 / 10",
    "UDP drops SFU / gen": "0 / 0",
  });
});

test("the ratio row puts each ratio under its figure's column", () => {
  cells(ratioRow("", ratios(result("ours", 1), result("mattermost", 2))), {
    "SFU CPU %": "2",
    "SFU CPU ms / 1k pkt": "**2**",
    "SFU RSS MiB rest / peak": "2 / 2",
    "SFU RSS KiB / session": "2",
    "probes pkt/s (kbit/s)": "",
    "audio latency ms p50 / p99": "2 / 2",
    "join ms p50 / p99": "2 / 2",
  });
});
