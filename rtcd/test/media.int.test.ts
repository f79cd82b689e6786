// The mediasoup media plane with real WebRTC peers (werift) signaling
// through rtcd's real WebSocket API on loopback. Needs the worker binary:
// `bash rtcd/worker-build/build-worker.sh` (or MEDIASOUP_WORKER_BIN).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { MediasoupPlane } from "../src/media/plane.ts";
import type { Rtcd } from "../src/service.ts";
import { registerPlugin, startInProcess } from "./support/in-process-rtcd.ts";
import { startRtcd, stopRtcd, type Running } from "./support/procs.ts";
import { OPUS_SILENCE, Peer, PluginConn } from "./support/rtc-peer.ts";
import { quietFor, silentFor, until, within } from "./support/wait.ts";

const KEY = "k".repeat(40);

describe("media plane with werift peers (in-process rtcd)", () => {
  let rtcd: Rtcd;
  let plane: MediasoupPlane;
  let conn: PluginConn;
  let icePort: number;
  const peers: Peer[] = [];

  beforeAll(async () => {
    ({ rtcd, plane, conn, icePort } = await startInProcess({ name: "media", workers: 1, key: KEY }));
  });

  afterAll(async () => {
    for (const p of peers) await p.close();
    conn?.close();
    await rtcd?.stop();
  });

  function peer(callID: string, sessionID: string): Peer {
    const p = new Peer(conn, callID, sessionID);
    peers.push(p);
    return p;
  }

  test("opus from one peer reaches the other, with rtcd's stream and track IDs", async () => {
    const a = peer("call1", "sessA");
    const b = peer("call1", "sessB");
    a.join();
    b.join();
    await a.offer({ send: true });
    await b.offer({ send: false });
    await a.connected();
    await b.connected();
    a.startAudio();
    await until("50 packets at B", () => b.received.length >= 50);
    const pkts = b.received;
    // Payload type as negotiated (opus 111), the payload byte-for-byte what A
    // sent and decodable as opus (TOC config 31, one frame), sequence
    // numbers consecutive.
    expect(new Set(pkts.map((p) => p.payloadType))).toEqual(new Set([111]));
    for (const p of pkts) {
      expect(p.payload.equals(OPUS_SILENCE)).toBe(true);
      expect(p.payload[0]! >> 3).toBe(31);
      expect(p.payload[0]! & 0x3).toBe(0);
    }
    // Sequence numbers (rewritten by the SFU) advance by one per packet,
    // no duplicates, no reordering on loopback.
    const seqs = pkts.map((p) => p.sequenceNumber);
    const steps = seqs.slice(1).map((s, i) => (s - seqs[i]! + 0x10000) & 0xffff);
    expect(steps.filter((d) => d === 1).length).toBeGreaterThanOrEqual(steps.length - 2);
    expect(steps.every((d) => d >= 1 && d < 0x8000)).toBe(true);
    expect(b.tracks.length).toBe(1);
    expect(b.tracks[0]!.streamID).toBe("sessA");
    expect(b.tracks[0]!.trackID).toMatch(/^voice_sessA_[A-Za-z0-9]{8}$/);
    // A receives nothing: B sends nothing.
    expect(a.received.length).toBe(0);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    const counts = plane.counts();
    expect(counts).toMatchObject({ routers: 1, transports: 2, producers: 1, consumers: 1 });
  });

  test("mute stops forwarding and unmute resumes it", async () => {
    const [a, b] = peers as [Peer, Peer];
    a.mute(true);
    await until(
      "B hears nothing from muted A",
      silentFor(200, () => b.received.at(-1)?.at),
    );
    const before = b.received.length;
    await quietFor(600, "A stays muted: nothing forwarded to B");
    expect(b.received.length - before).toBeLessThanOrEqual(1);
    a.mute(false);
    const resumed = b.received.length;
    await until("packets after unmute", () => b.received.length >= resumed + 20);
  });

  test("voice activity from the audio-level extension becomes VoiceOn/VoiceOff (vad)", async () => {
    const a = peers[0]!;
    const vad = () => conn.vad.filter((v) => v.sessionID === "sessA").map((v) => v.type);
    a.level = 20; // -20 dBov: speaking
    await until("VoiceOn", () => vad().includes(7));
    a.level = 127; // silence
    await until("VoiceOff", () => vad().lastIndexOf(8) > vad().lastIndexOf(7));
    // Muted speech is not reported.
    a.mute(true);
    a.level = 20;
    const n = vad().length;
    await quietFor(1200, "muted speech raises no VoiceOn");
    expect(vad().slice(n)).not.toContain(7);
    a.mute(false);
    a.level = 127;
  });

  test("a third peer joining later receives the running audio", async () => {
    const c = peer("call1", "sessC");
    c.join();
    await c.offer({ send: false });
    await c.connected();
    await until("packets at C", () => c.received.length >= 20);
    expect(c.tracks[0]!.streamID).toBe("sessA");
    expect(plane.counts()).toMatchObject({ transports: 3, producers: 1, consumers: 2 });
  });

  test("screen share (VP8) reaches every viewer with rtcd's screen track ID, ScreenOff removes it", async () => {
    const [a, b, c] = peers as [Peer, Peer, Peer];
    await a.shareScreen();
    for (const v of [b, c]) {
      await until(`screen track at ${v.sessionID}`, () => v.tracks.some((t) => t.kind === "video"));
      const t = v.tracks.find((x) => x.kind === "video")!;
      expect(t.streamID).toBe("sessA");
      expect(t.trackID).toMatch(/^screen_sessA_[A-Za-z0-9]{8}$/);
      await until(`VP8 at ${v.sessionID}`, () => v.received.filter((p) => p.payloadType === 96).length >= 10);
      const vp8 = v.received.find((p) => p.payloadType === 96)!;
      // VP8 payload descriptor (S bit) then a key frame with its start code.
      expect(vp8.payload[0]! & 0x10).toBe(0x10);
      expect(vp8.payload.subarray(4, 7)).toEqual(Buffer.from([0x9d, 0x01, 0x2a]));
    }
    expect(plane.counts()).toMatchObject({ producers: 2, consumers: 4 });
    a.stopScreen();
    await until("screen consumers gone", () => plane.counts().consumers === 2);
    expect(plane.counts().producers).toBe(1);
  });

  test("another call is isolated: its own router, nothing crosses", async () => {
    const d = peer("call2", "sessD");
    d.join();
    await d.offer({ send: false });
    await d.connected();
    await quietFor(500, "nothing from call1 reaches call2");
    expect(d.received.length).toBe(0);
    expect(plane.counts().routers).toBe(2);
  });

  test("malformed SDP ends only that session", async () => {
    const e = peer("call1", "sessE");
    e.join(); // handled before the rtc message behind it on the same WebSocket
    conn.send("rtc", {
      group_id: "plugin",
      user_id: "u",
      session_id: "sessE",
      call_id: "call1",
      type: 2,
      data: Buffer.from(JSON.stringify({ type: "offer", sdp: "v=0\r\nm=audio x\r\n" })),
    });
    await until("close for sessE", () => conn.closes.includes("sessE"));
    const b = peers[1]!;
    const n = b.received.length;
    await until("B still receiving", () => b.received.length >= n + 10);
  });

  test("garbage on the RTC port (UDP and TCP) is dropped, the call keeps flowing", async () => {
    const { createSocket } = await import("node:dgram");
    const { connect } = await import("node:net");
    const { randomBytes } = await import("node:crypto");
    const udp = createSocket("udp4");
    let sent = 0;
    const counted = () => void sent++;
    for (let i = 0; i < 2000; i++) udp.send(randomBytes(1 + (i % 1400)), icePort, "127.0.0.1", counted);
    // STUN-looking and DTLS/RTP-looking first bytes too.
    for (const first of [0x00, 0x01, 0x16, 0x80, 0x90])
      for (let i = 0; i < 200; i++)
        udp.send(Buffer.concat([Buffer.from([first]), randomBytes(60)]), icePort, "127.0.0.1", counted);
    const tcp = connect(icePort, "127.0.0.1");
    tcp.on("error", () => {});
    let written = false;
    tcp.write(randomBytes(100_000), () => (written = true));
    await until("the garbage sent", () => sent === 3000 && (written || tcp.destroyed));
    udp.close();
    tcp.destroy();
    const b = peers[1]!;
    const n = b.received.length;
    await until("B still receiving after garbage", () => b.received.length >= n + 20);
    expect(plane.workerPids().length).toBe(1);
  });

  test("a client that vanishes (no leave) is ended and the plugin gets close", async () => {
    const d = peers[3]!;
    expect(d.sessionID).toBe("sessD");
    // The peer connection goes away without any signaling: DTLS close_notify
    // (or, failing that, ICE consent) tells the SFU.
    await d.close();
    await until("close for sessD", () => conn.closes.includes("sessD"), 40_000);
    expect(plane.counts().routers).toBe(1); // call2's router went with it
  });

  test("leaving removes every mediasoup object", async () => {
    const [a, b, c] = peers as [Peer, Peer, Peer];
    for (const p of [a, b, c]) {
      p.stopAudio();
      p.leave();
    }
    await until("close for all", () =>
      ["sessA", "sessB", "sessC", "sessD"].every((s) => conn.closes.includes(s)),
    );
    const none = { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 };
    await until(
      "every mediasoup object closed",
      () => JSON.stringify(plane.counts()) === JSON.stringify(none),
    );
    expect(plane.counts()).toEqual(none);
    expect(await plane.workerCounts()).toEqual({ routers: 0, transports: 0, producers: 0, consumers: 0 });
  });
});

describe("drain with real media (rtcd process, SIGTERM)", () => {
  let r: Running;
  let conn: PluginConn;
  const peers: Peer[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "rtcd-media-drain-"));
    r = await startRtcd({
      impl: "ours",
      realBinary: "",
      dir,
      name: "ours-drain",
      env: {
        RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
        RTCD_DRAIN_DEADLINESECONDS: "60",
        ...(process.env["MEDIASOUP_WORKER_BIN"]
          ? { MEDIASOUP_WORKER_BIN: process.env["MEDIASOUP_WORKER_BIN"] }
          : {}),
        ...(process.env["MMRTCD_CACHE_DIR"] ? { MMRTCD_CACHE_DIR: process.env["MMRTCD_CACHE_DIR"] } : {}),
      },
    });
    await registerPlugin(r.url, "plugin", KEY);
    conn = await PluginConn.connect(r.url, "plugin", KEY);
  });

  afterAll(async () => {
    for (const p of peers) await p.close();
    conn?.close();
    if (r) await stopRtcd(r);
  });

  test("after SIGTERM a running call keeps flowing, a new call is refused, the process exits when it ends", async () => {
    const a = new Peer(conn, "callX", "dA");
    const b = new Peer(conn, "callX", "dB");
    peers.push(a, b);
    a.join();
    b.join();
    await a.offer({ send: true });
    await b.offer({ send: false });
    await a.connected();
    await b.connected();
    a.startAudio();
    await until("packets at B", () => b.received.length >= 20);

    r.proc.kill("SIGTERM");
    // Not ready once it has handled the signal.
    await until(
      "readyz 503 after SIGTERM",
      async () => (await fetch(`${r.url}/readyz`)).status === 503,
      5_000,
    );

    // A new call is refused with `close`.
    const c = new Peer(conn, "callY", "dC");
    peers.push(c);
    c.join();
    await until("close for the new call", () => conn.closes.includes("dC"));

    // The running call still flows, for a while.
    const n = b.received.length;
    await until("B keeps receiving after SIGTERM", () => b.received.length >= n + 50);
    expect(r.proc.exitCode).toBe(null);

    a.stopAudio();
    a.leave();
    b.leave();
    const code = await within(r.exited, 15_000, "timeout");
    expect(code).toBe(0);
  });
});
