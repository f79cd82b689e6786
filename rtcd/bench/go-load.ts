// Runs the Go/pion load generator (rtcd/bench/loadgen) as its own process
// against a running SFU. It prints JSON lines: window-start and window-end
// when the measurement window opens and closes (the caller's hooks sample
// the SFU there; this file samples the generator's own CPU from /proc at
// the same moments), then its result.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { LoadOutcome } from "./bench-result.ts";
import { r1, r2 } from "./bench-result.ts";
import { buildLoadgen } from "./loadgen-build.ts";
import { cpuSeconds, peakRssMiB, udpDrops } from "./proc-stats.ts";

export interface LoadSpec {
  url: string;
  clientID: string;
  authKey: string;
  calls: number;
  users: number;
  unmuted: number;
  screen: boolean;
  durationSeconds: number;
  onWindowStart: () => void;
  onWindowEnd: () => void;
  /** Prefix of call and session IDs: distinct per process when several share one rtcd. */
  prefix?: string;
  /** Ends the window early (SIGTERM): the calls then end the normal way, results included. */
  stop?: AbortSignal;
  /** CPUs the generator may run on (taskset's list, e.g. "1"); unset: any. */
  cpus?: string;
}

interface Latency {
  p50: number;
  p99: number;
  samples: number;
}
// The loadgen's {"event":"result"} line (loadgen/result.go).
interface GoResult {
  event: "result";
  delivered: number;
  audio: { expected: number; received: number; lossPercent: number; worstReceiverLossPercent: number };
  video?: { expected: number; received: number; lossPercent: number; receivedH: number; receivedL: number };
  sent: { ratePercent: number };
  latencyMs: { audio: Latency; video: Latency };
  joinMs: { P50: number; P99: number; Max: number; concurrency: number };
  probes: { packets: number; bytes: number };
  errors: string[] | null;
}

const lat = (l: Latency) => ({ p50: r1(l.p50), p99: r1(l.p99), samples: l.samples });

export async function runGoLoad(s: LoadSpec): Promise<LoadOutcome> {
  const bin = await buildLoadgen();
  const args = [
    ...["-url", s.url, "-client-id", s.clientID, "-auth-key", s.authKey],
    ...["-calls", String(s.calls), "-users", String(s.users), "-unmuted", String(s.unmuted)],
    ...["-duration", `${s.durationSeconds}s`, ...(s.screen ? ["-screen"] : [])],
    ...(s.prefix ? ["-prefix", s.prefix] : []),
  ];
  // taskset execs the generator in place: the pid stays the generator's.
  const p = s.cpus
    ? spawn("taskset", ["-c", s.cpus, bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  const pid = p.pid!;
  // Before the window opens the generator has no handler yet and would die
  // mid-join; a stop asked then is delivered once the window is open.
  let windowOpen = false;
  const terminate = () => {
    if (windowOpen) p.kill("SIGTERM");
  };
  s.stop?.addEventListener("abort", terminate, { once: true });
  let stderr = "";
  // Pass on the generator's own lines; pion's log lines (unhandled RTP
  // while a renegotiation is in flight, errors of closing transports) are
  // kept only for the error message.
  p.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    const mine = d
      .toString()
      .split("\n")
      .filter((l) => l.startsWith("loadgen"));
    if (mine.length) process.stderr.write(`${mine.join("\n")}\n`);
  });
  const exited = new Promise<number | null>((resolve) => p.on("close", (code) => resolve(code)));

  let cpu0 = 0;
  let cpu1 = 0;
  let rss = 0;
  let drops0 = 0;
  let drops1 = 0;
  let t0 = 0;
  let t1 = 0;
  let result: GoResult | undefined;
  for await (const line of createInterface({ input: p.stdout })) {
    const msg = JSON.parse(line) as { event: string };
    if (msg.event === "window-start") {
      windowOpen = true;
      s.onWindowStart();
      if (s.stop?.aborted) p.kill("SIGTERM");
      cpu0 = cpuSeconds(pid);
      drops0 = udpDrops([pid]);
      t0 = performance.now();
    } else if (msg.event === "window-end") {
      s.onWindowEnd();
      cpu1 = cpuSeconds(pid);
      drops1 = udpDrops([pid]);
      t1 = performance.now();
    } else if (msg.event === "result") {
      try {
        rss = peakRssMiB(pid);
      } catch {
        rss = NaN; // already gone
      }
      result = msg as GoResult;
    }
  }
  const code = await exited;
  if (code !== 0 || !result)
    throw new Error(
      `load generator exited ${code}: ${stderr
        .split("\n")
        .filter((l) => l.startsWith("loadgen:"))
        .join("; ")}`,
    );

  const seconds = (t1 - t0) / 1000;
  const v = result.video;
  const expected = result.audio.expected + (v?.expected ?? 0);
  // Fail loudly on nonsense rather than print a row of zeros.
  if (result.delivered === 0 || expected === 0)
    throw new Error(`nothing delivered (expected ${expected}): ${JSON.stringify(result)}`);
  return {
    seconds,
    delivered: result.delivered,
    expected,
    audioLossPercent: result.audio.lossPercent,
    worstReceiverAudioLossPercent: result.audio.worstReceiverLossPercent,
    videoLossPercent: v ? v.lossPercent : null,
    videoHighLayerPercent: v && v.received > 0 ? r1((v.receivedH / v.received) * 100) : null,
    probes: result.probes,
    latencyMs: lat(result.latencyMs.audio),
    videoLatencyMs: v ? lat(result.latencyMs.video) : null,
    joinMs: {
      p50: Math.round(result.joinMs.P50),
      p99: Math.round(result.joinMs.P99),
      max: Math.round(result.joinMs.Max),
      concurrency: result.joinMs.concurrency,
    },
    generator: {
      cpuSeconds: r2(cpu1 - cpu0),
      sendRatePercent: result.sent.ratePercent,
      peakRssMiB: r1(rss),
      eventLoopDelayP99Ms: null,
      udpDrops: drops1 - drops0,
    },
    errors: result.errors ?? [],
  };
}
