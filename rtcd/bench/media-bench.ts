// Media benchmark: C calls of U werift participants each (real ICE, DTLS,
// SRTP, signaling through rtcd's WebSocket API as the Calls plugin relays
// it), K of them per call sending opus-size audio at 50 packets/s, with
// --screen one per call also sending VP8 screen share; everyone receives.
// The SFU runs as its own process (our src/main.ts with its mediasoup
// workers, or Mattermost's rtcd v1.2.6 built from the Go module proxy); the
// generator (all peers) runs in this process and its CPU is reported apart.
//
//   npm run bench:media -- --calls 2 --users 4 --unmuted 2 [--screen] --duration 20 --target ours|mattermost
//   npm run bench:media -- ... --compare     # both targets, one after the other, with ratios
//
// Needs the worker: bash rtcd/worker-build/build-worker.sh
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { buildRealRtcd } from "../test/support/go-build.ts";
import { startRtcd, stopRtcd } from "../test/support/procs.ts";
import { PluginConn, sleep, until } from "../test/support/rtc-peer.ts";
import { GenPeer } from "./gen-peer.ts";
import { children, cpuSeconds, machineJiffies, peakRssMiB } from "./proc-stats.ts";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "1" },
    users: { type: "string", default: "4" },
    unmuted: { type: "string", default: "2" },
    screen: { type: "boolean", default: false },
    duration: { type: "string", default: "20" },
    target: { type: "string", default: "ours" },
    compare: { type: "boolean", default: false },
    json: { type: "string" },
  },
});
const C = Number(values.calls);
const U = Number(values.users);
const K = Math.min(Number(values.unmuted), U);
const D = Number(values.duration);
const SCREEN = values.screen;

export interface Result {
  target: string;
  calls: number;
  users: number;
  unmuted: number;
  screen: boolean;
  seconds: number;
  forwardedPerSecond: number;
  expectedPerSecond: number;
  sfuCpuSeconds: number;
  sfuCpuSecondsByProcess: number[]; // the SFU process, then its children (mediasoup workers)
  sfuCpuPercent: number;
  sfuCpuMsPer1kPackets: number;
  sfuPeakRssMiB: number;
  sfuPeakRssMiBByProcess: number[];
  audioLossPercent: number;
  worstReceiverAudioLossPercent: number;
  videoLossPercent: number | null;
  latencyMs: { p50: number; p99: number; samples: number };
  joinMs: { p50: number; p99: number; max: number };
  generator: {
    cpuSeconds: number;
    cpuPercentOfOneCore: number;
    sendRatePercent: number;
    eventLoopDelayP99Ms: number;
    peakRssMiB: number;
  };
  machineBusyPercent: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

function row(r: Result): string[] {
  return [
    r.target,
    `${r.calls}x${r.users}x${r.unmuted}${r.screen ? "+screen" : ""}`,
    String(r.forwardedPerSecond),
    String(r.sfuCpuPercent),
    String(r.sfuCpuMsPer1kPackets),
    String(r.sfuPeakRssMiB),
    `${r.audioLossPercent}${r.videoLossPercent === null ? "" : ` / ${r.videoLossPercent}`}`,
    `${r.latencyMs.p50} / ${r.latencyMs.p99}`,
    `${r.joinMs.p50} / ${r.joinMs.p99}`,
    `${r.generator.cpuPercentOfOneCore} (${r.generator.sendRatePercent}%)`,
    String(r.generator.eventLoopDelayP99Ms),
    String(r.machineBusyPercent),
  ];
}
const HEADER = [
  "target",
  "CxUxK",
  "fwd pkt/s",
  "SFU CPU %",
  "SFU CPU ms/1k pkt",
  "SFU peak RSS MiB",
  "loss % audio[/video]",
  "latency ms p50/p99",
  "join ms p50/p99",
  "gen CPU % (send rate)",
  "gen loop p99 ms",
  "machine busy %",
];
function table(rows: string[][]): string {
  const w = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(" | ")} |`;
  return [line(HEADER), `|${w.map((n) => "-".repeat(n + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

async function runOne(target: "ours" | "mattermost"): Promise<Result> {
  const impl = target === "mattermost" ? "rtcd" : "ours";
  const r = await startRtcd({
    impl,
    realBinary: impl === "rtcd" ? await buildRealRtcd() : "",
    dir: mkdtempSync(join(tmpdir(), "rtcd-media-bench-")),
    name: "bench",
    env: {
      RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
      RTCD_LOGGER_CONSOLELEVEL: "WARN",
      ...(process.env["MEDIASOUP_WORKER_BIN"]
        ? { MEDIASOUP_WORKER_BIN: process.env["MEDIASOUP_WORKER_BIN"] }
        : {}),
      ...(process.env["MMRTCD_CACHE_DIR"] ? { MMRTCD_CACHE_DIR: process.env["MMRTCD_CACHE_DIR"] } : {}),
    },
  });
  const sfuPid = r.proc.pid!;
  const key = "m".repeat(40);
  await fetch(`${r.url}/register`, {
    method: "POST",
    body: JSON.stringify({ clientID: "bench", authKey: key }),
  });
  const conn = await PluginConn.connect(r.url, "bench", key);

  // Join everyone, one at a time (as people arrive), timing join -> SFU's
  // answer -> ICE+DTLS connected.
  const calls: GenPeer[][] = [];
  const joinMs: number[] = [];
  let index = 0;
  for (let c = 0; c < C; c++) {
    const peers: GenPeer[] = [];
    calls.push(peers);
    for (let u = 0; u < U; u++) {
      const p = new GenPeer(conn, `call-${c}`, `c${c}u${u}`, index++);
      peers.push(p);
      const t0 = performance.now();
      p.join();
      await p.offer();
      await p.connected(30_000);
      joinMs.push(performance.now() - t0);
    }
  }
  const all = calls.flat();
  const senders = calls.flatMap((ps) => ps.slice(0, K));
  const sharers = SCREEN ? calls.map((ps) => ps[0]!) : [];
  for (const p of sharers) await p.shareScreen();
  for (const p of senders) p.startAudio();
  await until(
    "every stream at every receiver",
    () =>
      calls.every((ps) =>
        ps.every(
          (p) =>
            ps.slice(0, K).every((s) => s === p || (p.rxAudioFrom.get(s.index) ?? 0) > 0) &&
            (!SCREEN || p === ps[0] || p.rxVideo > 0),
        ),
      ),
    60_000,
  );
  await sleep(2000); // warm-up

  const sfuPids = () => [sfuPid, ...children(sfuPid)];
  const sfuCpus = () => sfuPids().map((pid) => cpuSeconds(pid));
  const snap = () => ({
    sentA: all.map((p) => p.sentAudio),
    sentV: all.map((p) => p.sentVideo),
    rxA: all.map((p) => p.rxAudio),
    rxV: all.map((p) => p.rxVideo),
    from: all.map((p) => new Map(p.rxAudioFrom)),
  });
  const s0 = snap();
  for (const p of all) p.latencies = [];
  const byProc0 = sfuCpus();
  const cpu0 = byProc0.reduce((a, b) => a + b, 0);
  const gen0 = process.cpuUsage();
  const m0 = machineJiffies();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const wall0 = performance.now();
  await sleep(D * 1000);
  for (const p of all) p.stopSending();
  await sleep(1000); // drain: what is in flight still arrives
  loop.disable();
  const wall = (performance.now() - wall0) / 1000;
  const byProc1 = sfuCpus();
  const cpu = byProc1.reduce((a, b) => a + b, 0) - cpu0;
  const g = process.cpuUsage(gen0);
  const genCpu = (g.user + g.system) / 1e6;
  const m1 = machineJiffies();
  const s1 = snap();
  const rssByProcess = sfuPids().map((pid) => r1(peakRssMiB(pid)));

  // Expected: every packet a sender sent, once per other participant of its call.
  let expA = 0;
  let expV = 0;
  let gotA = 0;
  let gotV = 0;
  let worst = 0;
  const byIndex = new Map(all.map((p, i) => [p.index, i]));
  for (const ps of calls)
    for (const p of ps) {
      const i = byIndex.get(p.index)!;
      let e = 0;
      let got = 0;
      for (const s of ps.slice(0, K)) {
        if (s === p) continue;
        const j = byIndex.get(s.index)!;
        e += s1.sentA[j]! - s0.sentA[j]!;
        got += (s1.from[i]!.get(s.index) ?? 0) - (s0.from[i]!.get(s.index) ?? 0);
      }
      expA += e;
      gotA += got;
      if (e > 0) worst = Math.max(worst, 1 - got / e);
      gotV += s1.rxV[i]! - s0.rxV[i]!;
      if (SCREEN && p !== ps[0]) {
        const j = byIndex.get(ps[0]!.index)!;
        expV += s1.sentV[j]! - s0.sentV[j]!;
      }
    }
  const forwarded = s1.rxA.reduce((t, x, i) => t + x - s0.rxA[i]!, 0) + gotV;
  const sentA = s1.sentA.reduce((t, x, i) => t + x - s0.sentA[i]!, 0);
  const sentV = s1.sentV.reduce((t, x, i) => t + x - s0.sentV[i]!, 0);
  const sendSecs = wall - 1;
  const nominal = senders.length * 50 * sendSecs + sharers.length * 180 * sendSecs;
  const lat = all.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const joins = [...joinMs].sort((a, b) => a - b);

  const result: Result = {
    target: target === "ours" ? "ours" : "mattermost",
    calls: C,
    users: U,
    unmuted: K,
    screen: SCREEN,
    seconds: r1(wall),
    forwardedPerSecond: Math.round(forwarded / wall),
    expectedPerSecond: Math.round((expA + expV) / wall),
    sfuCpuSeconds: r2(cpu),
    sfuCpuSecondsByProcess: byProc1.map((x, i) => r2(x - (byProc0[i] ?? 0))),
    sfuCpuPercent: r1((cpu / wall) * 100),
    sfuCpuMsPer1kPackets: r2((cpu * 1000 * 1000) / forwarded),
    sfuPeakRssMiB: r1(rssByProcess.reduce((a, b) => a + b, 0)),
    sfuPeakRssMiBByProcess: rssByProcess,
    audioLossPercent: r2(Math.max(0, 1 - gotA / expA) * 100),
    worstReceiverAudioLossPercent: r2(Math.max(0, worst) * 100),
    videoLossPercent: SCREEN ? r2(Math.max(0, 1 - gotV / expV) * 100) : null,
    latencyMs: { p50: r1(pct(lat, 50)), p99: r1(pct(lat, 99)), samples: lat.length },
    joinMs: {
      p50: Math.round(pct(joins, 50)),
      p99: Math.round(pct(joins, 99)),
      max: Math.round(joins.at(-1)!),
    },
    generator: {
      cpuSeconds: r2(genCpu),
      cpuPercentOfOneCore: r1((genCpu / wall) * 100),
      sendRatePercent: r1(((sentA + sentV) / nominal) * 100),
      eventLoopDelayP99Ms: r1(loop.percentile(99) / 1e6),
      peakRssMiB: r1(process.resourceUsage().maxRSS / 1024),
    },
    machineBusyPercent: r1(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100),
  };
  const errors = all.flatMap((p) => p.errors);
  if (errors.length) console.error(`peer errors: ${errors.slice(0, 5).join("; ")}`);

  for (const p of all) p.leave();
  await sleep(300);
  for (const p of all) await p.close();
  conn.close();
  await stopRtcd(r);
  return result;
}

function args(target: string, json: string): string[] {
  return [
    import.meta.filename,
    "--calls",
    String(C),
    "--users",
    String(U),
    "--unmuted",
    String(K),
    "--duration",
    String(D),
    ...(SCREEN ? ["--screen"] : []),
    "--target",
    target,
    "--json",
    json,
  ];
}

if (values.compare) {
  // Each target in a fresh process, one after the other, same load.
  const dir = mkdtempSync(join(tmpdir(), "media-bench-"));
  const results: Result[] = [];
  for (const target of ["ours", "mattermost"]) {
    const out = join(dir, `${target}.json`);
    const run = spawnSync(process.execPath, args(target, out), { stdio: ["ignore", "inherit", "inherit"] });
    if (run.status !== 0) throw new Error(`${target} run failed (exit ${run.status})`);
    results.push(JSON.parse(readFileSync(out, "utf8")) as Result);
  }
  const [ours, mm] = results as [Result, Result];
  const ratio = (a: number, b: number) => (b > 0 ? r2(a / b) : NaN);
  const ratios = {
    sfuCpuPer1kPackets: ratio(mm.sfuCpuMsPer1kPackets, ours.sfuCpuMsPer1kPackets),
    sfuPeakRss: ratio(mm.sfuPeakRssMiB, ours.sfuPeakRssMiB),
    latencyP50: ratio(mm.latencyMs.p50, ours.latencyMs.p50),
    latencyP99: ratio(mm.latencyMs.p99, ours.latencyMs.p99),
    joinP50: ratio(mm.joinMs.p50, ours.joinMs.p50),
    joinP99: ratio(mm.joinMs.p99, ours.joinMs.p99),
  };
  console.log(`\n${table([row(ours), row(mm)])}`);
  console.log(`\nmattermost / ours: ${JSON.stringify(ratios)}`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ ours, mattermost: mm, ratios }, null, 2));
} else {
  const target = values.target === "mattermost" ? "mattermost" : "ours";
  const result = await runOne(target);
  if (!values.json) console.log(JSON.stringify(result, null, 2));
  console.log(`\n${table([row(result)])}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
  process.exit(0);
}
