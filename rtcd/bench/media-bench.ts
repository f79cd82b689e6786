// Media benchmark: C calls of U participants each (real ICE, DTLS, SRTP,
// signaling through rtcd's WebSocket API as the Calls plugin relays it), K
// of them per call sending opus-size audio at 50 packets/s, with --screen
// one per call also sharing a screen as VP8 simulcast (h and l); everyone
// receives. The SFU runs as its own process (our src/main.ts with its
// mediasoup workers, or Mattermost's rtcd v1.2.6 built from the Go module
// proxy); so does the default generator (Go/pion, rtcd/bench/loadgen), and
// its CPU is reported apart.
//
//   npm run bench:media -- --calls 2 --users 4 --unmuted 2 [--screen] --duration 20 --target ours|mattermost
//   npm run bench:media -- ... --compare     # both targets, one after the other, with ratios
//   npm run bench:media -- ... --generator werift   # the older in-process TypeScript generator
//   npm run bench:media -- ... --workers 2          # ours with 2 mediasoup workers (a call across them)
//   npm run bench:media -- ... --pin                # the SFU on CPU 0, the generator on the others
//   npm run bench:media:suite                # every row, both targets, and the under-1 %-loss search
//
// Needs the worker: bash rtcd/worker-build/build-worker.sh
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildRealRtcd } from "../test/support/go-build.ts";
import { startRtcd, stopRtcd } from "../test/support/procs.ts";
import type { GeneratorKind, Result, Target } from "./bench-result.ts";
import { r1, r2, ratioRow, ratios, row, table } from "./bench-result.ts";
import { runGoLoad, type LoadSpec } from "./go-load.ts";
import {
  children,
  cpuSeconds,
  machineJiffies,
  peakRssMiB,
  rssMiB,
  udpDrops,
  udpRcvbufErrors,
} from "./proc-stats.ts";
import { runWeriftLoad } from "./werift-load.ts";

export interface BenchOptions {
  calls: number;
  users: number;
  unmuted: number;
  screen: boolean;
  durationSeconds: number;
  generator: GeneratorKind;
  /** Ours: mediasoup workers (RTCD_MEDIA_WORKERS); Mattermost's rtcd has no such setting. */
  workers?: number;
  /** The SFU (with its workers) on CPU 0, the generator on the other CPUs. */
  pin?: boolean;
}

const SFU_CPUS = "0";
const generatorCpus = () => `1-${availableParallelism() - 1}`;

/** Pins a running process, every thread of it and of its children, to cpus. */
function pinTree(pid: number, cpus: string): void {
  for (const p of [pid, ...children(pid)])
    execFileSync("taskset", ["-a", "-p", "-c", cpus, String(p)], { stdio: "ignore" });
}

export async function runOne(target: Target, o: BenchOptions): Promise<Result> {
  const impl = target === "mattermost" ? "rtcd" : "ours";
  const r = await startRtcd({
    impl,
    realBinary: impl === "rtcd" ? await buildRealRtcd() : "",
    dir: mkdtempSync(join(tmpdir(), "rtcd-media-bench-")),
    name: "bench",
    env: {
      RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
      RTCD_LOGGER_CONSOLELEVEL: "WARN",
      ...(impl === "ours" && o.workers ? { RTCD_MEDIA_WORKERS: String(o.workers) } : {}),
      ...(process.env["MEDIASOUP_WORKER_BIN"]
        ? { MEDIASOUP_WORKER_BIN: process.env["MEDIASOUP_WORKER_BIN"] }
        : {}),
      ...(process.env["MMRTCD_CACHE_DIR"] ? { MMRTCD_CACHE_DIR: process.env["MMRTCD_CACHE_DIR"] } : {}),
    },
  });
  try {
    const sfuPid = r.proc.pid!;
    // Ready means the workers are up: every process of the SFU is there to pin.
    if (o.pin) pinTree(sfuPid, SFU_CPUS);
    const key = "m".repeat(40);
    await fetch(`${r.url}/register`, {
      method: "POST",
      body: JSON.stringify({ clientID: "bench", authKey: key }),
    });
    const sfuPids = () => [sfuPid, ...children(sfuPid)];
    const restRss = sfuPids().reduce((a, pid) => a + rssMiB(pid), 0);
    let byProc0: number[] = [];
    let byProc1: number[] = [];
    let m0 = { busy: 0, total: 0 };
    let m1 = { busy: 0, total: 0 };
    let udp0 = 0;
    let udp1 = 0;
    let drops0 = 0;
    let drops1 = 0;
    const spec: LoadSpec = {
      url: r.url,
      clientID: "bench",
      authKey: key,
      calls: o.calls,
      users: o.users,
      unmuted: Math.min(o.unmuted, o.users),
      screen: o.screen,
      durationSeconds: o.durationSeconds,
      ...(o.pin ? { cpus: generatorCpus() } : {}),
      onWindowStart: () => {
        byProc0 = sfuPids().map((pid) => cpuSeconds(pid));
        m0 = machineJiffies();
        udp0 = udpRcvbufErrors();
        drops0 = udpDrops(sfuPids());
      },
      onWindowEnd: () => {
        byProc1 = sfuPids().map((pid) => cpuSeconds(pid));
        m1 = machineJiffies();
        udp1 = udpRcvbufErrors();
        drops1 = udpDrops(sfuPids());
      },
    };
    const load = o.generator === "werift" ? await runWeriftLoad(spec) : await runGoLoad(spec);
    const rssByProcess = sfuPids().map((pid) => r1(peakRssMiB(pid)));
    const peakRss = rssByProcess.reduce((a, b) => a + b, 0);
    const cpu = byProc1.reduce((a, b) => a + b, 0) - byProc0.reduce((a, b) => a + b, 0);
    const wall = load.seconds;
    if (load.errors.length) console.error(`peer errors: ${load.errors.slice(0, 5).join("; ")}`);
    return {
      target,
      generator: o.generator,
      calls: o.calls,
      users: o.users,
      unmuted: spec.unmuted,
      screen: o.screen,
      ...(impl === "ours" && o.workers ? { workers: o.workers } : {}),
      ...(o.pin ? { pinned: true } : {}),
      seconds: r1(wall),
      forwardedPerSecond: Math.round(load.delivered / wall),
      expectedPerSecond: Math.round(load.expected / wall),
      sfuCpuSeconds: r2(cpu),
      sfuCpuSecondsByProcess: byProc1.map((x, i) => r2(x - (byProc0[i] ?? 0))),
      sfuCpuPercent: r1((cpu / wall) * 100),
      sfuCpuMsPer1kPackets: r2((cpu * 1000 * 1000) / load.delivered),
      sfuRestRssMiB: r1(restRss),
      sfuPeakRssMiB: r1(peakRss),
      sfuPeakRssMiBByProcess: rssByProcess,
      sfuRssPerSessionKiB: Math.round(((peakRss - restRss) * 1024) / (o.calls * o.users)),
      audioLossPercent: load.audioLossPercent,
      worstReceiverAudioLossPercent: load.worstReceiverAudioLossPercent,
      videoLossPercent: load.videoLossPercent,
      videoHighLayerPercent: load.videoHighLayerPercent,
      probesPerSecond: load.probes && {
        packets: Math.round(load.probes.packets / wall),
        kbps: Math.round((load.probes.bytes * 8) / wall / 1000),
      },
      latencyMs: load.latencyMs,
      videoLatencyMs: load.videoLatencyMs,
      joinMs: load.joinMs,
      generatorStats: {
        cpuSeconds: load.generator.cpuSeconds,
        cpuPercentOfOneCore: r1((load.generator.cpuSeconds / wall) * 100),
        sendRatePercent: load.generator.sendRatePercent,
        peakRssMiB: load.generator.peakRssMiB,
        eventLoopDelayP99Ms: load.generator.eventLoopDelayP99Ms,
        udpDrops: load.generator.udpDrops,
      },
      machineBusyPercent: r1(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100),
      udpRcvbufErrors: udp1 - udp0,
      sfuUdpDrops: drops1 - drops0,
      errors: load.errors,
    };
  } finally {
    await stopRtcd(r);
  }
}

export function benchArgs(o: BenchOptions, target: Target, json: string): string[] {
  return [
    join(import.meta.dirname, "media-bench.ts"),
    ...["--calls", String(o.calls), "--users", String(o.users), "--unmuted", String(o.unmuted)],
    ...["--duration", String(o.durationSeconds), "--generator", o.generator],
    ...(o.screen ? ["--screen"] : []),
    ...(o.workers ? ["--workers", String(o.workers)] : []),
    ...(o.pin ? ["--pin"] : []),
    ...["--target", target, "--json", json],
  ];
}

// One target in a fresh process (a clean heap and /proc view per run).
export function runInChild(o: BenchOptions, target: Target, dir: string): Result {
  const out = join(dir, `${target}-${o.calls}x${o.users}x${o.unmuted}${o.screen ? "s" : ""}.json`);
  const run = spawnSync(process.execPath, benchArgs(o, target, out), {
    stdio: ["ignore", "inherit", "pipe"],
    maxBuffer: 64 << 20,
  });
  const err = run.stderr
    .toString()
    .split("\n")
    .filter((l) => l !== "");
  if (err.length) console.error(err.join("\n"));
  if (run.status !== 0) {
    const why = err.filter((l) => /^(loadgen:|Error)/.test(l)).join("; ");
    throw new Error(`${target} run failed (exit ${run.status}): ${why}`);
  }
  return JSON.parse(readFileSync(out, "utf8")) as Result;
}

if (import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      calls: { type: "string", default: "1" },
      users: { type: "string", default: "4" },
      unmuted: { type: "string", default: "2" },
      screen: { type: "boolean", default: false },
      duration: { type: "string", default: "20" },
      target: { type: "string", default: "ours" },
      generator: { type: "string", default: "go" },
      compare: { type: "boolean", default: false },
      workers: { type: "string" },
      pin: { type: "boolean", default: false },
      json: { type: "string" },
    },
  });
  if (values.pin && availableParallelism() < 2) throw new Error("--pin needs at least 2 CPUs");
  if (values.generator !== "go" && values.generator !== "werift")
    throw new Error(`--generator ${values.generator}: go or werift`);
  const o: BenchOptions = {
    calls: Number(values.calls),
    users: Number(values.users),
    unmuted: Number(values.unmuted),
    screen: values.screen,
    durationSeconds: Number(values.duration),
    generator: values.generator,
    ...(values.workers ? { workers: Number(values.workers) } : {}),
    pin: values.pin,
  };
  if (values.compare) {
    const dir = mkdtempSync(join(tmpdir(), "media-bench-"));
    const ours = runInChild(o, "ours", dir);
    const mm = runInChild(o, "mattermost", dir);
    const q = ratios(ours, mm);
    console.log(`\n${table([row(ours), row(mm), ratioRow("", q)])}`);
    console.log(`\nmattermost / ours: ${JSON.stringify(q)}`);
    if (values.json) writeFileSync(values.json, JSON.stringify({ ours, mattermost: mm, ratios: q }, null, 2));
  } else {
    const target: Target = values.target === "mattermost" ? "mattermost" : "ours";
    const result = await runOne(target, o);
    if (!values.json) console.log(JSON.stringify(result, null, 2));
    console.log(`\n${table([row(result)])}`);
    if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
  }
  process.exit(0);
}
