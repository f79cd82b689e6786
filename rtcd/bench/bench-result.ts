// What one media benchmark run measures, and how rows and ratios print.
// Shared by media-bench.ts (one load, or --compare) and media-suite.ts.

export type Target = "ours" | "mattermost";
export type GeneratorKind = "go" | "werift";

// What a load generator reports about the window it ran (see go-load.ts,
// werift-load.ts).
export interface LoadOutcome {
  seconds: number;
  delivered: number; // unique packets receivers got inside the window
  expected: number;
  audioLossPercent: number;
  worstReceiverAudioLossPercent: number;
  videoLossPercent: number | null;
  // Share of delivered screen packets that were the h layer (null: no
  // screen, or a generator without simulcast).
  videoHighLayerPercent: number | null;
  // mediasoup's bandwidth probes (padding on its probation SSRC) receivers
  // got inside the window, in all (null: a generator that does not count them).
  probes: { packets: number; bytes: number } | null;
  latencyMs: { p50: number; p99: number; samples: number };
  videoLatencyMs: { p50: number; p99: number; samples: number } | null;
  joinMs: { p50: number; p99: number; max: number; concurrency: number };
  generator: {
    cpuSeconds: number;
    sendRatePercent: number;
    peakRssMiB: number;
    eventLoopDelayP99Ms: number | null;
    udpDrops: number | null; // see Result.sfuUdpDrops
  };
  errors: string[];
}

export interface Result {
  target: Target;
  generator: GeneratorKind;
  calls: number;
  users: number;
  unmuted: number;
  screen: boolean;
  /** Ours' mediasoup workers when set (--workers). */
  workers?: number;
  /** The SFU ran on CPU 0 and the generator on the others (--pin). */
  pinned?: boolean;
  seconds: number;
  forwardedPerSecond: number;
  expectedPerSecond: number;
  sfuCpuSeconds: number;
  sfuCpuSecondsByProcess: number[]; // the SFU process, then its children (mediasoup workers)
  sfuCpuPercent: number;
  sfuCpuMsPer1kPackets: number;
  // Resident memory of the SFU's processes (VmRSS summed) once it is ready,
  // before the load; and their peaks (VmHWM) after it.
  sfuRestRssMiB: number;
  sfuPeakRssMiB: number;
  sfuPeakRssMiBByProcess: number[];
  // (peak - rest) / sessions (calls x users): what a session adds.
  sfuRssPerSessionKiB: number;
  audioLossPercent: number;
  worstReceiverAudioLossPercent: number;
  videoLossPercent: number | null;
  videoHighLayerPercent: number | null;
  // Probe packets per second receivers got, and their kbit/s (see LoadOutcome).
  probesPerSecond: { packets: number; kbps: number } | null;
  latencyMs: { p50: number; p99: number; samples: number };
  videoLatencyMs: { p50: number; p99: number; samples: number } | null;
  joinMs: { p50: number; p99: number; max: number; concurrency: number };
  generatorStats: {
    cpuSeconds: number;
    cpuPercentOfOneCore: number;
    sendRatePercent: number;
    peakRssMiB: number;
    eventLoopDelayP99Ms: number | null;
    udpDrops: number | null;
  };
  machineBusyPercent: number;
  // Datagrams dropped by full socket buffers, machine-wide, in the window.
  udpRcvbufErrors: number;
  // Of those, the ones at the SFU's own sockets (the generator's are in
  // generatorStats.udpDrops).
  sfuUdpDrops: number;
  errors: string[];
}

export const r1 = (x: number): number => Math.round(x * 10) / 10;
export const r2 = (x: number): number => Math.round(x * 100) / 100;

export function loadName(r: Pick<Result, "calls" | "users" | "unmuted" | "screen">): string {
  return `${r.calls}x${r.users}x${r.unmuted}${r.screen ? "+screen" : ""}`;
}

// Worst loss of the run, audio or video: what "holds under 1 % loss" tests.
export function worstLoss(r: Result): number {
  return Math.max(r.audioLossPercent, r.videoLossPercent ?? 0);
}

export const HEADER = [
  "load",
  "target",
  "delivered pkt/s",
  "SFU CPU %",
  "SFU CPU ms / 1k pkt",
  "SFU RSS MiB rest / peak",
  "SFU RSS KiB / session",
  "loss % audio / video",
  "video h %",
  "probes pkt/s (kbit/s)",
  "audio latency ms p50 / p99",
  "join ms p50 / p99",
  "gen CPU %",
  "gen send rate %",
  "machine busy %",
  "UDP drops SFU / gen",
];

export function row(r: Result): string[] {
  const cpu =
    r.sfuCpuSecondsByProcess.length > 1
      ? `${r.sfuCpuPercent} (${r.sfuCpuSecondsByProcess.map((s) => r1((s / r.seconds) * 100)).join(" + ")})`
      : String(r.sfuCpuPercent);
  return [
    loadName(r),
    r.target,
    String(r.forwardedPerSecond),
    cpu,
    String(r.sfuCpuMsPer1kPackets),
    `${r.sfuRestRssMiB} / ${r.sfuPeakRssMiB}`,
    String(r.sfuRssPerSessionKiB),
    `${r.audioLossPercent}${r.videoLossPercent === null ? "" : ` / ${r.videoLossPercent}`}`,
    r.videoHighLayerPercent === null ? "" : String(r.videoHighLayerPercent),
    r.probesPerSecond ? `${r.probesPerSecond.packets} (${r.probesPerSecond.kbps})` : "",
    `${r.latencyMs.p50} / ${r.latencyMs.p99}`,
    `${r.joinMs.p50} / ${r.joinMs.p99}`,
    String(r.generatorStats.cpuPercentOfOneCore),
    String(r.generatorStats.sendRatePercent),
    String(r.machineBusyPercent),
    `${r.sfuUdpDrops} / ${r.generatorStats.udpDrops ?? "?"}`,
  ];
}

export interface Ratios {
  sfuCpuPer1kPackets: number;
  sfuCpuPercent: number;
  sfuRestRss: number;
  sfuPeakRss: number;
  sfuRssPerSession: number;
  latencyP50: number;
  latencyP99: number;
  joinP50: number;
  joinP99: number;
}

// mattermost / ours: above 1 means Mattermost's rtcd uses more.
export function ratios(ours: Result, mm: Result): Ratios {
  const ratio = (a: number, b: number) => (b > 0 ? r2(a / b) : NaN);
  return {
    sfuCpuPer1kPackets: ratio(mm.sfuCpuMsPer1kPackets, ours.sfuCpuMsPer1kPackets),
    sfuCpuPercent: ratio(mm.sfuCpuPercent, ours.sfuCpuPercent),
    sfuRestRss: ratio(mm.sfuRestRssMiB, ours.sfuRestRssMiB),
    sfuPeakRss: ratio(mm.sfuPeakRssMiB, ours.sfuPeakRssMiB),
    sfuRssPerSession: ratio(mm.sfuRssPerSessionKiB, ours.sfuRssPerSessionKiB),
    latencyP50: ratio(mm.latencyMs.p50, ours.latencyMs.p50),
    latencyP99: ratio(mm.latencyMs.p99, ours.latencyMs.p99),
    joinP50: ratio(mm.joinMs.p50, ours.joinMs.p50),
    joinP99: ratio(mm.joinMs.p99, ours.joinMs.p99),
  };
}

// Cells by column name, so that a column added to HEADER cannot shift the
// ratios into their neighbours' columns.
export function ratioRow(load: string, q: Ratios): string[] {
  const cells: Record<string, string> = {
    load,
    target: "**mattermost / ours**",
    "SFU CPU %": String(q.sfuCpuPercent),
    "SFU CPU ms / 1k pkt": `**${q.sfuCpuPer1kPackets}**`,
    "SFU RSS MiB rest / peak": `${q.sfuRestRss} / ${q.sfuPeakRss}`,
    "SFU RSS KiB / session": String(q.sfuRssPerSession),
    "audio latency ms p50 / p99": `${q.latencyP50} / ${q.latencyP99}`,
    "join ms p50 / p99": `${q.joinP50} / ${q.joinP99}`,
  };
  return HEADER.map((h) => cells[h] ?? "");
}

// A markdown table (it also reads well in a terminal).
export function table(rows: string[][], header: string[] = HEADER): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${header.map((_, i) => (cells[i] ?? "").padEnd(w[i]!)).join(" | ")} |`;
  return [line(header), `|${w.map((n) => "-".repeat(n + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}
