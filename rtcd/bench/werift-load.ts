// The first generator, kept as `--generator werift`: werift peers (pure
// TypeScript WebRTC) in this Node process. It saturates near 2.4k
// delivered packets/s on this machine and sends single-layer VP8 (no
// simulcast); the Go generator (go-load.ts) replaced it as the default.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { PluginConn, sleep, until } from "../test/support/rtc-peer.ts";
import type { LoadOutcome } from "./bench-result.ts";
import { r1, r2 } from "./bench-result.ts";
import type { LoadSpec } from "./go-load.ts";
import { GenPeer } from "./gen-peer.ts";

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runWeriftLoad(s: LoadSpec): Promise<LoadOutcome> {
  const K = Math.min(s.unmuted, s.users);
  const conn = await PluginConn.connect(s.url, s.clientID, s.authKey);
  // Join everyone, one at a time, timing join -> answer -> ICE+DTLS connected.
  const calls: GenPeer[][] = [];
  const joinMs: number[] = [];
  let index = 0;
  for (let c = 0; c < s.calls; c++) {
    const peers: GenPeer[] = [];
    calls.push(peers);
    for (let u = 0; u < s.users; u++) {
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
  const sharers = s.screen ? calls.map((ps) => ps[0]!) : [];
  for (const p of sharers) await p.shareScreen();
  for (const p of senders) p.startAudio();
  await until(
    "every stream at every receiver",
    () =>
      calls.every((ps) =>
        ps.every(
          (p) =>
            ps.slice(0, K).every((x) => x === p || (p.rxAudioFrom.get(x.index) ?? 0) > 0) &&
            (!s.screen || p === ps[0] || p.rxVideo > 0),
        ),
      ),
    60_000,
  );
  await sleep(2000); // warm-up

  const snap = () => ({
    sentA: all.map((p) => p.sentAudio),
    sentV: all.map((p) => p.sentVideo),
    rxA: all.map((p) => p.rxAudio),
    rxV: all.map((p) => p.rxVideo),
    from: all.map((p) => new Map(p.rxAudioFrom)),
  });
  const s0 = snap();
  for (const p of all) p.latencies = [];
  s.onWindowStart();
  const gen0 = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const wall0 = performance.now();
  await sleep(s.durationSeconds * 1000);
  for (const p of all) p.stopSending();
  await sleep(1000); // drain: what is in flight still arrives
  loop.disable();
  s.onWindowEnd();
  const wall = (performance.now() - wall0) / 1000;
  const g = process.cpuUsage(gen0);
  const s1 = snap();

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
      for (const x of ps.slice(0, K)) {
        if (x === p) continue;
        const j = byIndex.get(x.index)!;
        e += s1.sentA[j]! - s0.sentA[j]!;
        got += (s1.from[i]!.get(x.index) ?? 0) - (s0.from[i]!.get(x.index) ?? 0);
      }
      expA += e;
      gotA += got;
      if (e > 0) worst = Math.max(worst, 1 - got / e);
      gotV += s1.rxV[i]! - s0.rxV[i]!;
      if (s.screen && p !== ps[0]) {
        const j = byIndex.get(ps[0]!.index)!;
        expV += s1.sentV[j]! - s0.sentV[j]!;
      }
    }
  const delivered = s1.rxA.reduce((t, x, i) => t + x - s0.rxA[i]!, 0) + gotV;
  const sentA = s1.sentA.reduce((t, x, i) => t + x - s0.sentA[i]!, 0);
  const sentV = s1.sentV.reduce((t, x, i) => t + x - s0.sentV[i]!, 0);
  const sendSecs = wall - 1;
  const nominal = senders.length * 50 * sendSecs + sharers.length * 180 * sendSecs;
  const latencies = all.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const joins = [...joinMs].sort((a, b) => a - b);
  const errors = all.flatMap((p) => p.errors);

  for (const p of all) p.leave();
  await sleep(300);
  for (const p of all) await p.close();
  conn.close();
  if (delivered === 0) throw new Error("nothing delivered");
  return {
    seconds: wall,
    delivered,
    expected: expA + expV,
    audioLossPercent: r2(Math.max(0, 1 - gotA / expA) * 100),
    worstReceiverAudioLossPercent: r2(Math.max(0, worst) * 100),
    videoLossPercent: s.screen ? r2(Math.max(0, 1 - gotV / expV) * 100) : null,
    videoHighLayerPercent: null,
    probes: null,
    latencyMs: { p50: r1(pct(latencies, 50)), p99: r1(pct(latencies, 99)), samples: latencies.length },
    videoLatencyMs: null,
    joinMs: {
      p50: Math.round(pct(joins, 50)),
      p99: Math.round(pct(joins, 99)),
      max: Math.round(joins.at(-1)!),
      concurrency: 1,
    },
    generator: {
      cpuSeconds: r2((g.user + g.system) / 1e6),
      sendRatePercent: r1(((sentA + sentV) / nominal) * 100),
      peakRssMiB: r1(process.resourceUsage().maxRSS / 1024),
      eventLoopDelayP99Ms: r1(loop.percentile(99) / 1e6),
      udpDrops: null, // werift's sockets are this process's, not told apart here
    },
    errors,
  };
}
