// A mediasoup worker dies (crash, OOM kill, kill -9): the sessions it held
// end with rtcd's `close` (the Calls client rejoins), a new worker takes its
// place on the same port within 5 s and serves new calls, the calls on the
// other worker keep flowing, and rtcd_media_worker_deaths_total counts it.
// When no worker can be started again, /healthz and /readyz answer 503 so
// Kubernetes restarts the pod.
// Needs the mediasoup worker (bash rtcd/worker-build/build-worker.sh).
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { MediasoupPlane } from "../src/media/plane.ts";
import { resolveWorkerBin } from "../src/media/worker-bin.ts";
import type { Rtcd } from "../src/service.ts";
import { startInProcess } from "./support/in-process-rtcd.ts";
import { Peer, talkingCall, type PluginConn } from "./support/rtc-peer.ts";
import { until } from "./support/wait.ts";

const KEY = "d".repeat(40);
const MAX_GAP_MS = 500;

// Between `from` and `to`: the longest time the listener went without a
// packet (raw), the longest the speaker sent nothing, and how much of each
// listener gap the speaker spent sending (the gap less the longest stretch
// inside it without a send). Speaker, listener and this in-process rtcd
// share the test's event loop, so when it stalls (a werift DTLS handshake of
// the next call, on a loaded host) both sides stop together: that stretch is
// the test's, not rtcd's; only the rest is rtcd's to answer for.
function gaps(listener: Peer, speaker: Peer, from: number, to: number) {
  const within = (ts: number[], a: number, b: number) => [a, ...ts.filter((t) => t > a && t < b), b];
  const longest = (ts: number[]) => ts.slice(1).reduce((g, t, i) => Math.max(g, t - ts[i]!), 0);
  const got = within(
    listener.received.map((x) => x.at),
    from,
    to,
  );
  let whileSending = 0;
  for (let i = 1; i < got.length; i++) {
    const [a, b] = [got[i - 1]!, got[i]!];
    if (b - a <= 100) continue;
    whileSending = Math.max(whileSending, b - a - longest(within(speaker.sentAt, a, b)));
  }
  return { raw: longest(got), sending: longest(within(speaker.sentAt, from, to)), whileSending };
}

async function status(url: string): Promise<number> {
  const r = await fetch(url);
  await r.arrayBuffer();
  return r.status;
}

async function deaths(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = /^rtcd_media_worker_deaths_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

// The port of rtcd's first ICE candidate in the answer `p` received.
function candidatePort(p: Peer): number {
  const m = /a=candidate:\S+ \d+ udp \d+ \S+ (\d+)/i.exec(p.pc.remoteDescription?.sdp ?? "");
  return Number(m?.[1]);
}

describe("a worker dies, two workers", () => {
  let rtcd: Rtcd | undefined;
  let conn: PluginConn | undefined;
  const peers: Peer[] = [];

  afterAll(async () => {
    for (const p of peers) await p.close();
    conn?.close();
    await rtcd?.stop();
  });

  test("its sessions get close, a new worker serves its port within 5 s, the other call never stops", async () => {
    const started = await startInProcess({ name: "worker-death", workers: 2, key: KEY });
    ({ rtcd, conn } = started);
    const { plane, base, icePort } = started;
    const c = conn;

    const [, doomedListener] = await talkingCall(c, "doomed", peers);
    const victim = plane.workerLoads().findIndex((w) => w.sessions === 2);
    expect(victim).toBeGreaterThanOrEqual(0);
    const [calmSpeaker, calmListener] = await talkingCall(c, "calm", peers);
    expect(plane.workerLoads()[1 - victim]!.sessions).toBe(2);
    expect(candidatePort(doomedListener)).toBe(icePort + victim);
    expect(await deaths(base)).toBe(0);

    const pid = plane.workerPids()[victim]!;
    const killedAt = Date.now();
    process.kill(pid, "SIGKILL");

    await until("close for both sessions of the dead worker's call", () =>
      ["doomed-speaker", "doomed-listener"].every((s) => c.closes.includes(s)),
    );
    await until(
      "a new worker in the dead one's place",
      () => plane.workerPids().length === 2 && !plane.workerPids().includes(pid),
      5_000,
      () => `pids ${JSON.stringify(plane.workerPids())}, killed ${pid}`,
    );
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(c.closes).not.toContain("calm-speaker");
    expect(c.closes).not.toContain("calm-listener");
    expect(await deaths(base)).toBe(1);
    expect(await status(`${base}/healthz`)).toBe(200);
    expect(await status(`${base}/readyz`)).toBe(200);

    // A new call lands on the new worker (it has no sessions) and talks,
    // on the dead worker's port.
    const [, freshListener] = await talkingCall(c, "fresh", peers);
    expect(plane.workerLoads()[victim]!.sessions).toBe(2);
    expect(candidatePort(freshListener)).toBe(icePort + victim);

    const g = gaps(calmListener, calmSpeaker, killedAt - 1000, Date.now());
    process.stdout.write(`worker-death: the calm call's gaps (ms) ${JSON.stringify(g)}\n`);
    expect(g.whileSending, `the calm call's gaps (ms): ${JSON.stringify(g)}`).toBeLessThan(MAX_GAP_MS);
  });
});

describe("a worker dies and none can be started again", () => {
  let rtcd: Rtcd | undefined;
  let conn: PluginConn | undefined;
  const peers: Peer[] = [];
  const dir = mkdtempSync(join(tmpdir(), "rtcd-worker-bin-"));

  afterAll(async () => {
    for (const p of peers) await p.close();
    conn?.close();
    await rtcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the probes fail so that Kubernetes restarts the pod", async () => {
    // A copy of the worker binary, removed once the worker runs: every
    // restart fails as it would with the binary gone or the port taken.
    const bin = join(dir, "mediasoup-worker");
    copyFileSync(resolveWorkerBin(), bin);
    const started = await startInProcess({ name: "worker-gone", workers: 1, key: KEY, workerBin: bin });
    ({ rtcd, conn } = started);
    const { base } = started;
    const plane: MediasoupPlane = started.plane;
    await talkingCall(conn, "lonely", peers);
    expect(await status(`${base}/healthz`)).toBe(200);
    rmSync(bin);

    process.kill(plane.workerPids()[0]!, "SIGKILL");
    const c = conn;
    await until("close for the lonely call's sessions", () =>
      ["lonely-speaker", "lonely-listener"].every((s) => c.closes.includes(s)),
    );
    await until(
      "/healthz 503 once the restarts are given up",
      async () => (await status(`${base}/healthz`)) === 503,
      15_000,
    );
    expect(await status(`${base}/readyz`)).toBe(503);
    expect(await deaths(base)).toBe(1);
    expect(plane.workerPids()).toEqual([]);

    // A join meanwhile is refused with close, not left hanging.
    const late = new Peer(c, "late", "late-joiner");
    peers.push(late);
    late.join();
    await until("close for a join with no worker", () => c.closes.includes("late-joiner"));
  });
});
