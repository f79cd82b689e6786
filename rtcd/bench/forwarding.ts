// Benchmark: one call of P werift participants, U of them sending opus
// (50 packets/s each) for D seconds through our rtcd, run as its own process
// (src/main.ts, as deployed) on loopback. Prints join latency (join -> our
// answer -> ICE+DTLS connected, per participant) and CPU from /proc: the
// mediasoup worker's per forwarded stream and per packet (ours), and the
// rtcd's total (process + children). The werift clients run in this
// process, not counted. `--impl rtcd` runs Mattermost's rtcd v1.2.6 instead.
//
//   node rtcd/bench/forwarding.ts [--impl ours|rtcd] [--participants 5] [--senders 2] [--seconds 20]
//
// Needs the worker: bash rtcd/worker-build/build-worker.sh
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildRealRtcd } from "../test/support/go-build.ts";
import { startRtcd, stopRtcd } from "../test/support/procs.ts";
import { Peer, PluginConn, sleep, until } from "../test/support/rtc-peer.ts";

const { values } = parseArgs({
  options: {
    participants: { type: "string", default: "5" },
    senders: { type: "string", default: "2" },
    seconds: { type: "string", default: "20" },
    impl: { type: "string", default: "ours" },
  },
});
const P = Number(values.participants);
const U = Math.min(Number(values.senders), P);
const D = Number(values.seconds);
// "rtcd": Mattermost's rtcd v1.2.6 (built with Go, as in the contract tests).
const IMPL = values.impl === "rtcd" ? "rtcd" : "ours";

// Child processes (the mediasoup workers) of a process.
function children(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`))
    out.push(
      ...readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
    );
  return out;
}

// utime + stime of a process, in seconds.
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

// Our rtcd as its own process (main.ts, as deployed), so its CPU is
// measurable apart from the werift clients running here.
const r = await startRtcd({
  impl: IMPL,
  realBinary: IMPL === "rtcd" ? await buildRealRtcd() : "",
  dir: mkdtempSync(join(tmpdir(), "rtcd-bench-")),
  name: "bench",
  env: {
    RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
    RTCD_LOGGER_CONSOLELEVEL: "INFO",
    ...(process.env["MEDIASOUP_WORKER_BIN"]
      ? { MEDIASOUP_WORKER_BIN: process.env["MEDIASOUP_WORKER_BIN"] }
      : {}),
    ...(process.env["MMRTCD_CACHE_DIR"] ? { MMRTCD_CACHE_DIR: process.env["MMRTCD_CACHE_DIR"] } : {}),
  },
});
const base = r.url;
const rtcdPid = r.proc.pid!;
const key = "b".repeat(40);
await fetch(`${base}/register`, {
  method: "POST",
  body: JSON.stringify({ clientID: "bench", authKey: key }),
});
const conn = await PluginConn.connect(base, "bench", key);

const peers: Peer[] = [];
const joinMs: number[] = [];
for (let i = 0; i < P; i++) {
  const p = new Peer(conn, "bench-call", `bench-${i}`);
  peers.push(p);
  const t0 = performance.now();
  p.join();
  // Like the Calls client: everyone offers a microphone and calls-dc; only
  // the first U send.
  await p.offer({ send: true, dataChannel: true });
  await p.connected(20_000);
  joinMs.push(performance.now() - t0);
}
const workerPids = children(rtcdPid);
for (const p of peers.slice(0, U)) p.startAudio();
// Wait until every participant receives every other sender.
const senders = peers.slice(0, U).map((p) => p.sessionID);
await until(
  "all streams flowing",
  () =>
    peers.every((p) =>
      senders.every((id) => id === p.sessionID || p.received.some((x) => x.streamID === id)),
    ),
  30_000,
);
await sleep(2000); // warm-up
const rx0 = peers.map((p) => p.received.length);
const sent0 = peers.reduce((t, p) => t + p.sent, 0);
const worker0 = workerPids.reduce((t, p) => t + cpuSeconds(p), 0);
const node0 = cpuSeconds(rtcdPid);
const wall0 = performance.now();
await sleep(D * 1000);
const worker1 = workerPids.reduce((t, p) => t + cpuSeconds(p), 0);
const node1 = cpuSeconds(rtcdPid);
const wall = (performance.now() - wall0) / 1000;
const rx = peers.map((p, i) => p.received.length - rx0[i]!);
const sent = peers.reduce((t, p) => t + p.sent, 0) - sent0;
for (const p of peers) p.stopAudio();

const forwarded = U * (P - 1);
const workerCpu = worker1 - worker0;
const nodeCpu = node1 - node0;
const pktsForwarded = rx.reduce((a, b) => a + b, 0);
const sorted = [...joinMs].sort((a, b) => a - b);
const out = {
  command: `node rtcd/bench/forwarding.ts --impl ${IMPL} --participants ${P} --senders ${U} --seconds ${D}`,
  impl: IMPL === "rtcd" ? "mattermost/rtcd v1.2.6" : "ours (mediasoup)",
  participants: P,
  senders: U,
  forwardedStreams: forwarded,
  seconds: Number(wall.toFixed(1)),
  joinLatencyMs: {
    p50: Math.round(sorted[Math.floor(sorted.length / 2)]!),
    max: Math.round(sorted.at(-1)!),
    all: joinMs.map((x) => Math.round(x)),
  },
  workerCpuSeconds: Number(workerCpu.toFixed(2)),
  workerCpuPercent: Number(((workerCpu / wall) * 100).toFixed(1)),
  workerCpuMsPerStreamSecond: Number(((workerCpu * 1000) / (forwarded * wall)).toFixed(3)),
  packetsForwardedPerSecond: Math.round(pktsForwarded / wall),
  // What the senders actually sent, times the viewers of each.
  expectedPerSecond: Math.round((sent * (P - 1)) / wall),
  workerCpuMicrosPerPacket: Number(((workerCpu * 1e6) / pktsForwarded).toFixed(1)),
  // The rtcd process itself (Node for ours, the Go binary for rtcd).
  rtcdProcessCpuSeconds: Number(nodeCpu.toFixed(2)),
  rtcdTotalCpuSeconds: Number((nodeCpu + workerCpu).toFixed(2)),
  rtcdTotalCpuMsPerStreamSecond: Number((((nodeCpu + workerCpu) * 1000) / (forwarded * wall)).toFixed(3)),
};
console.log(JSON.stringify(out, null, 2));

for (const p of peers) p.leave();
await sleep(300);
for (const p of peers) await p.close();
conn.close();
await stopRtcd(r);
process.exit(0);
