// The calls-dc data channel, against Mattermost's rtcd v1.2.6 and ours (where
// mediasoup has no DCEP: see src/media/datachannel.ts), with real werift
// peers signaling through the WebSocket API: the channel opens, pings get
// pongs in both the string and the msgpack forms, the signaling lock is
// granted and honoured, a MediaMap comes with each offer of rtcd's, and with
// `dcSignaling` the SDP goes over the channel, zlib-compressed.
import { deflateSync, inflateSync } from "node:zlib";
import { decodeMulti, encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MediaStreamTrack } from "werift";
import { DCType, decodeDCMessage, type DCMessage } from "../src/media/dc-msg.ts";
import { stopRtcd, type Impl, type Running } from "./support/procs.ts";
import { startForPlugin } from "./support/plugin-rtcd.ts";
import { Peer, PluginConn } from "./support/rtc-peer.ts";
import { quietFor, until } from "./support/wait.ts";

const KEY = "d".repeat(40);

describe.each<Impl>(["rtcd", "ours"])("calls-dc against %s", (impl) => {
  let r: Running;
  let conn: PluginConn;
  const peers: Peer[] = [];

  beforeAll(async () => {
    ({ r, conn } = await startForPlugin(impl, `dc-${impl}`, KEY));
  });

  afterAll(async () => {
    for (const p of peers) await p.close();
    conn?.close();
    if (r) await stopRtcd(r);
  });

  test("the channel opens and a string ping gets a string pong", async () => {
    const a = new Peer(conn, "dc1", "dcA");
    peers.push(a);
    a.join();
    await a.offer({ send: true, dataChannel: true });
    await a.connected();
    await until("calls-dc open", () => a.dcOpen, 10_000);
    const got: unknown[] = [];
    a.dc!.onmessage = (ev) => got.push(ev.data);
    a.dc!.send("ping");
    await until("pong", () => got.includes("pong"));
  });

  test("a msgpack ping gets a msgpack pong; garbage is ignored, not fatal", async () => {
    const a = peers[0]!;
    const inbox = dcInbox(a);
    a.dc!.send(Buffer.from([0xc1])); // never valid msgpack
    a.dc!.send(Buffer.from(encode(99)));
    a.dc!.send(Buffer.from(encode(DCType.Ping)));
    await until("msgpack pong", () => inbox.some((m) => m.type === DCType.Pong));
    a.dc!.send("ping");
    await until("string pong still served", () => inbox.strings.includes("pong"));
  });

  test("signaling lock: the server's offer waits while the client holds it, with a MediaMap", async () => {
    const a = new Peer(conn, "dc2", "lockA");
    const b = new Peer(conn, "dc2", "lockB");
    peers.push(a, b);
    a.join();
    await a.offer({ send: true, dataChannel: true });
    await a.connected();
    await until("A's calls-dc open", () => a.dcOpen);
    const inbox = dcInbox(a);
    a.dc!.send(Buffer.from(encode(DCType.Lock)));
    await until("lock reply", () => inbox.some((m) => m.type === DCType.Lock));
    expect(inbox.find((m) => m.type === DCType.Lock)).toEqual({ type: DCType.Lock, granted: true });

    b.join();
    await b.offer({ send: true, dataChannel: true });
    await b.connected();
    b.startAudio();
    await quietFor(1500, "B's track waits for A's lock: no offer to A, no audio at A");
    // B's track is waiting for A's lock.
    expect(a.wsOffers).toBe(0);
    expect(a.received.length).toBe(0);
    // Taking it again while held is refused, as rtcd's TryLock does.
    a.dc!.send(Buffer.from(encode(DCType.Lock)));
    await until("second lock reply", () => inbox.filter((m) => m.type === DCType.Lock).length === 2);
    expect(inbox.filter((m) => m.type === DCType.Lock)[1]).toEqual({ type: DCType.Lock, granted: false });

    a.dc!.send(Buffer.from(encode(DCType.Unlock)));
    await until("our offer after the unlock", () => a.wsOffers === 1);
    await until("B's audio at A", () => a.received.length >= 20);
    const mm = inbox.find((m) => m.type === DCType.MediaMap);
    expect(mm).toBeDefined();
    const map = (mm as Extract<DCMessage, { type: 9 }>).map;
    const mids = Object.keys(map);
    expect(mids.length).toBe(1);
    // rtcd v1.2.6 puts the receiving session's own ID in sender_id; ours
    // the sender's (the one a client can use).
    expect(map[mids[0]!]).toEqual({ type: "voice", sender_id: impl === "rtcd" ? "lockA" : "lockB" });
    expect(a.pc.remoteDescription!.sdp).toContain(`a=mid:${mids[0]}\r\n`);
  });

  test("dcSignaling: our offers and the answers to the client's offers travel on calls-dc", async () => {
    const c = new Peer(conn, "dc3", "sigC");
    const d = new Peer(conn, "dc3", "sigD");
    peers.push(c, d);
    c.join({ dcSignaling: true });
    await c.offer({ send: true, dataChannel: true });
    await c.connected();
    await until("C's calls-dc open", () => c.dcOpen);
    const inbox = dcInbox(c);
    // Answer whatever rtcd offers on the channel, the way the Calls client does.
    const answered: string[] = [];
    c.dc!.onMessage.subscribe((data) => {
      if (typeof data === "string") return;
      const [t, payload] = [...decodeMulti(data)] as [number, Uint8Array];
      if (t !== DCType.SDP) return;
      const desc = JSON.parse(inflateSync(payload).toString()) as { type: "offer" | "answer"; sdp: string };
      void (async () => {
        await c.pc.setRemoteDescription(desc);
        if (desc.type !== "offer") return;
        await c.pc.setLocalDescription(await c.pc.createAnswer());
        answered.push(desc.sdp);
        c.dc!.send(dcSdp({ type: "answer", sdp: c.pc.localDescription!.sdp }));
      })();
    });
    d.join();
    await d.offer({ send: true, dataChannel: true });
    await d.connected();
    d.startAudio();
    await until("D's audio at C", () => c.received.length >= 20, 15_000);
    expect(answered.length).toBe(1);
    expect(c.wsOffers).toBe(0);
    expect(inbox.some((m) => m.type === DCType.MediaMap)).toBe(true);

    // The client renegotiates over the channel: the answer comes back on it.
    const before = inbox.filter((m) => m.type === DCType.SDP).length;
    const mic = new MediaStreamTrack({ kind: "audio" });
    c.pc.addTransceiver(mic, { direction: "sendonly" });
    await c.pc.setLocalDescription(await c.pc.createOffer());
    c.dc!.send(dcSdp({ type: "offer", sdp: c.pc.localDescription!.sdp }));
    await until("answer on calls-dc", () => inbox.filter((m) => m.type === DCType.SDP).length > before);
    const ans = inbox.filter((m) => m.type === DCType.SDP).at(-1) as Extract<DCMessage, { type: 3 }>;
    expect((ans.sdp as { type: string }).type).toBe("answer");
    expect(c.errors).toEqual([]);
  });

  test("the data channel open time is in rtcd_rtc_dc_open_time", async () => {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const m = /^rtcd_rtc_dc_open_time_count\{groupID="plugin"\} (\d+)/m.exec(text);
    expect(Number(m?.[1] ?? 0)).toBeGreaterThanOrEqual(5);
  });
});

// What rtcd sent on a peer's calls-dc: msgpack messages decoded with our
// codec (checked against raw bytes in dc-msg.test.ts) and strings.
function dcInbox(p: Peer): DCMessage[] & { strings: string[] } {
  const out = Object.assign([] as DCMessage[], { strings: [] as string[] });
  p.dc!.onMessage.subscribe((data) => {
    if (typeof data === "string") out.strings.push(data);
    else out.push(decodeDCMessage(data));
  });
  return out;
}

// An SDP message as the Calls client encodes it: type 3, then the
// zlib-compressed JSON description as msgpack bin.
function dcSdp(desc: { type: string; sdp: string }): Buffer {
  return Buffer.concat([encode(DCType.SDP), encode(deflateSync(Buffer.from(JSON.stringify(desc))))]);
}
