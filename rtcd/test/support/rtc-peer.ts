// Real WebRTC peers (werift, pure TypeScript) signaling through rtcd's
// WebSocket API the way the Calls plugin relays browsers: one WebSocket per
// plugin (client ID), `join` per session, `rtc` messages carrying the
// browser's JSON SDP/ICE, `close`/`vad` back.
// Over ~400 lines: the peer, its plugin connection, the fake-microphone
// packet builder (opusPacket, shared with calls-client.ts) and a talking
// call (talkingCall) are the one unit every rtcd test uses.
import { decodeMulti, encode } from "@msgpack/msgpack";
import {
  MediaStream,
  MediaStreamTrack,
  RTCDataChannel,
  type RTCDtlsTransport,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  RtpHeader,
  RtpPacket,
  useAV1,
  useSdesMid,
  useVP8,
  type RTCRtpTransceiver,
} from "werift";
import WebSocket from "ws";
import { until } from "./wait.ts";

export const AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const AUDIO_LEVEL_ID = 10;
// A valid Opus packet: TOC config 31 (CELT fullband 20 ms), mono, one frame,
// then the 2-byte silence frame browsers send in DTX.
export const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

export interface RtcMsg {
  group_id: string;
  user_id: string;
  session_id: string;
  call_id: string;
  type: number;
  data?: Uint8Array;
}

export class PluginConn {
  readonly ws: WebSocket;
  readonly clientID: string;
  private readonly handlers = new Map<string, (type: string, data: unknown) => void>();
  readonly closes: string[] = [];
  readonly vad: { sessionID: string; type: number }[] = [];
  private constructor(ws: WebSocket, clientID: string) {
    this.ws = ws;
    this.clientID = clientID;
    ws.on("message", (raw: Buffer) => {
      const [type, data] = [...decodeMulti(raw)] as [string, Record<string, unknown>];
      const sid = (data?.["session_id"] ?? data?.["sessionID"]) as string | undefined;
      if (type === "close" && sid) this.closes.push(sid);
      if (type === "vad" && sid) this.vad.push({ sessionID: sid, type: data["type"] as number });
      if (sid) this.handlers.get(sid)?.(type, data);
    });
  }

  static async connect(baseURL: string, clientID: string, authKey: string): Promise<PluginConn> {
    const ws = new WebSocket(`${baseURL.replace(/^http/, "ws")}/ws`, {
      headers: { authorization: `Basic ${Buffer.from(`${clientID}:${authKey}`).toString("base64")}` },
    });
    const conn = new PluginConn(ws, clientID);
    await new Promise<void>((resolve, reject) => {
      ws.once("message", () => resolve()); // hello
      ws.once("error", reject);
    });
    return conn;
  }

  send(type: string, data: unknown): void {
    const a = encode(type);
    const b = encode(data);
    this.ws.send(Buffer.concat([a, b]));
  }

  on(sessionID: string, fn: (type: string, data: unknown) => void): void {
    this.handlers.set(sessionID, fn);
  }

  close(): void {
    this.ws.close();
  }
}

export interface ReceivedPacket {
  ssrc: number;
  payloadType: number;
  sequenceNumber: number;
  payload: Buffer;
  // When it arrived (ms since the epoch), for failure timelines.
  at: number;
  trackID: string;
  streamID: string;
}

export const VP8_PT = 96;
export const AV1_PT = 45;

/** A werift peer with the codecs and header extensions the Calls client offers. */
export interface PeerCodecOptions {
  av1?: boolean;
}

export function callsPeerConnection(opts: PeerCodecOptions = {}): RTCPeerConnection {
  return new RTCPeerConnection(callsPeerConfig(opts));
}

/**
 * The configuration of callsPeerConnection(), for wrappers that construct
 * their own. With `av1`, AV1 (PT 45, as rtcd numbers it) after VP8, as a
 * browser that can encode AV1 offers it.
 */
export function callsPeerConfig(
  opts: PeerCodecOptions = {},
): ConstructorParameters<typeof RTCPeerConnection>[0] & object {
  return {
    codecs: {
      audio: [
        new RTCRtpCodecParameters({
          mimeType: "audio/opus",
          clockRate: 48000,
          channels: 2,
          payloadType: 111,
          parameters: "minptime=10;useinbandfec=1",
        }),
      ],
      video: [
        useVP8({ payloadType: VP8_PT }),
        ...(opts.av1 ? [useAV1({ payloadType: AV1_PT, clockRate: 90000 })] : []),
      ],
    },
    headerExtensions: {
      audio: [
        useSdesMid(),
        new RTCRtpHeaderExtensionParameters({ id: AUDIO_LEVEL_ID, uri: AUDIO_LEVEL_URI }),
      ],
      video: [useSdesMid()],
    },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
  };
}

/**
 * Our side of the SDP/ICE exchange that rtcd relays as `rtc` messages
 * (type 1 candidate, 2 SDP, 3/4 mute, 5/6 screen): answers rtcd's offers,
 * adds its candidates, and sends ours.
 */
export class RtcSignaling {
  private readonly conn: PluginConn;
  private readonly callID: string;
  private readonly sessionID: string;
  private readonly pc: RTCPeerConnection;

  constructor(conn: PluginConn, callID: string, sessionID: string, pc: RTCPeerConnection) {
    this.conn = conn;
    this.callID = callID;
    this.sessionID = sessionID;
    this.pc = pc;
  }

  send(type: number, data?: unknown): void {
    const msg: RtcMsg = {
      group_id: this.conn.clientID,
      user_id: `user-${this.sessionID}`,
      session_id: this.sessionID,
      call_id: this.callID,
      type,
      ...(data === undefined ? {} : { data: Buffer.from(JSON.stringify(data)) }),
    };
    this.conn.send("rtc", msg);
  }

  async receive(m: RtcMsg): Promise<void> {
    const data = m.data ? JSON.parse(Buffer.from(m.data).toString()) : undefined;
    if (m.type === 2) {
      const desc = data as { type: "offer" | "answer"; sdp: string };
      await this.pc.setRemoteDescription(desc);
      if (desc.type === "offer") {
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.send(2, { type: "answer", sdp: this.pc.localDescription!.sdp });
      }
    } else if (m.type === 1) {
      const c = (data as { candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number } })
        .candidate;
      await this.pc.addIceCandidate(c);
    }
  }

  connected(timeoutMs: number): Promise<void> {
    return until(
      `${this.sessionID} connected`,
      () => this.pc.connectionState === "connected",
      timeoutMs,
      () => `connection state: ${this.pc.connectionState}; ${this.transports()}`,
    );
  }

  // Where the connection stands, per transport: ICE (state, role, the pair
  // in use, both sides' candidates) and DTLS (state, role), so a timeout
  // says whether the addresses, the checks or the handshake failed.
  transports(): string {
    const seen = new Set<RTCDtlsTransport>();
    for (const t of this.pc.getTransceivers()) seen.add(t.dtlsTransport);
    if (this.pc.sctpTransport) seen.add(this.pc.sctpTransport.dtlsTransport);
    // "candidate:<foundation> <component> <protocol> <priority> <ip> <port> typ <type> ..."
    const cand = (c: { candidate: string }) => {
      const f = c.candidate.replace(/^candidate:/, "").split(" ");
      return `${f[2] ?? "?"} ${f[4] ?? "?"}:${f[5] ?? "?"} ${f[7] ?? ""}`.trim();
    };
    return [...seen]
      .map((d) => {
        const ice = d.iceTransport;
        const pair = ice.getSelectedCandidatePair();
        return (
          `ICE ${ice.state} (${ice.role}, gathering ${ice.gatheringState}` +
          `, pair ${pair ? `${cand(pair.local)} -> ${cand(pair.remote)}` : "none"}` +
          `, local [${ice.getLocalCandidates().map(cand).join(", ")}]` +
          `, remote [${ice.getRemoteCandidates().map(cand).join(", ")}])` +
          `, DTLS ${d.state} (${d.role})`
        );
      })
      .join("; ");
  }
}

export class Peer {
  readonly pc: RTCPeerConnection;
  readonly sessionID: string;
  readonly callID: string;
  readonly conn: PluginConn;
  private readonly signaling: RtcSignaling;
  readonly received: ReceivedPacket[] = [];
  readonly tracks: { trackID: string; streamID: string; kind: string }[] = [];
  readonly errors: string[] = [];
  closed = false;
  dcOpen = false;
  dc: RTCDataChannel | undefined;
  // Offers rtcd sent this session over the WebSocket.
  wsOffers = 0;
  private audio: MediaStreamTrack | undefined;
  private video: MediaStreamTrack | undefined;
  private av1Video: MediaStreamTrack | undefined;
  private videoTimer: NodeJS.Timeout | undefined;
  private vseq = 5000;
  private vts = 0;
  private timer: NodeJS.Timeout | undefined;
  private seq = 1000;
  private ts = 0;
  level = 127; // -dBov: 127 = silence, 0 = loudest
  sent = 0;

  constructor(conn: PluginConn, callID: string, sessionID: string, opts: PeerCodecOptions = {}) {
    this.conn = conn;
    this.callID = callID;
    this.sessionID = sessionID;
    this.pc = callsPeerConnection(opts);
    this.signaling = new RtcSignaling(conn, callID, sessionID, this.pc);
    this.pc.onTrack.subscribe((track) => {
      // werift keeps the a=msid of our offer on the receiver.
      const receiver = this.pc.getTransceivers().find((t) => t.receiver.track === track)?.receiver;
      const streamID = receiver?.remoteStreamId ?? "";
      const trackID = receiver?.remoteTrackId ?? "";
      this.tracks.push({ trackID, streamID, kind: track.kind });
      track.onReceiveRtp.subscribe((rtp) => {
        // A section rtcd reuses for another sender's track fires no new
        // onTrack; its receiver carries the current IDs.
        this.received.push({
          ssrc: rtp.header.ssrc,
          payloadType: rtp.header.payloadType,
          sequenceNumber: rtp.header.sequenceNumber,
          payload: Buffer.from(rtp.payload),
          at: Date.now(),
          trackID: receiver?.remoteTrackId ?? trackID,
          streamID: receiver?.remoteStreamId ?? streamID,
        });
      });
    });
    conn.on(sessionID, (type, data) => {
      if (type === "close") this.closed = true;
      if (type !== "rtc") return;
      const m = data as RtcMsg;
      if (m.type === 2 && m.data && Buffer.from(m.data).toString().includes('"offer"')) this.wsOffers++;
      void this.signaling.receive(m).catch((err: unknown) => this.errors.push(String(err)));
    });
  }

  join(extra: Record<string, unknown> = {}): void {
    this.conn.send("join", {
      callID: this.callID,
      userID: `user-${this.sessionID}`,
      sessionID: this.sessionID,
      channelID: "channel",
      av1Support: false,
      dcSignaling: false,
      ...extra,
    });
  }

  private rtc(type: number, data?: unknown): void {
    this.signaling.send(type, data);
  }

  // The client's first offer: a microphone (sending) or just a receiver.
  // With `dataChannel`, the calls-dc channel the Calls client opens (DCEP,
  // not negotiated): rtcd v1.2.6 renegotiates only once it is open.
  // With `dtlsClient`, the peer takes the DTLS client's role (a=setup:active)
  // instead of leaving it to us (actpass, which makes mediasoup the client):
  // werift's DTLS server drops a retransmitted final flight of mediasoup's
  // (which retransmits after 100 ms) instead of answering it again, and one
  // that arrives while the first is still being processed starts the
  // handshake's last step over; on a loaded machine mediasoup's DTLS then
  // stays "connecting" while werift says connected. As the client, werift
  // retransmits and OpenSSL answers. Browsers handle both roles. Neither
  // of werift's roles is safe against mediasoup's 100 ms retransmissions:
  // as the client, a flight 4 repeated before werift has sent flight 5 is
  // handled again (a new Flight5 and key pair) and the handshake fails;
  // the operator's probe therefore stays the server, which guards a
  // repeated ClientHello (operator/test/media-probe.int.test.ts, TCP after
  // a failed UDP call: the client role failed there every time).
  async offer(opts: { send: boolean; dataChannel?: boolean; dtlsClient?: boolean }): Promise<void> {
    if (opts.dataChannel) {
      const dc = (this.dc = this.pc.createDataChannel("calls-dc"));
      dc.onopen = () => (this.dcOpen = true);
    }
    if (opts.send) {
      this.audio = new MediaStreamTrack({ kind: "audio" });
      this.pc.addTransceiver(this.audio, { direction: "sendonly" });
    } else {
      this.pc.addTransceiver("audio", { direction: "recvonly" });
    }
    if (opts.dtlsClient) {
      // werift refuses a changed SDP; its transports' role is what it offers.
      const transports = [
        ...this.pc.getTransceivers().map((t) => t.dtlsTransport),
        this.pc.sctpTransport?.dtlsTransport,
      ];
      for (const t of transports) if (t) t.role = "client";
    }
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    if (opts.dtlsClient && !this.pc.localDescription!.sdp.includes("a=setup:active"))
      throw new Error("werift kept a=setup:actpass in its offer");
    this.rtc(2, { type: "offer", sdp: this.pc.localDescription!.sdp });
  }

  // Screen share as the Calls client does it: ScreenOn with the stream ID,
  // then a renegotiation (our offer) adding the video track. With `av1`, as
  // an AV1-capable client does: a second track of the same stream pinned to
  // AV1 (setCodecPreferences), the first pinned to VP8 for the others.
  async shareScreen(opts: { av1?: boolean } = {}): Promise<void> {
    const stream = new MediaStream({ id: `screen-${this.sessionID}` });
    this.rtc(5, { screenStreamID: stream.id });
    this.video = new MediaStreamTrack({ kind: "video" });
    const vp8 = this.pc.addTransceiver(this.video, { direction: "sendonly", streams: [stream] });
    if (opts.av1) {
      this.av1Video = new MediaStreamTrack({ kind: "video" });
      const av1 = this.pc.addTransceiver(this.av1Video, { direction: "sendonly", streams: [stream] });
      pinCodec(vp8, "VP8");
      pinCodec(av1, "AV1");
    }
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.rtc(2, { type: "offer", sdp: this.pc.localDescription!.sdp });
    this.videoTimer = setInterval(() => this.sendVideo(), 33);
  }

  stopScreen(): void {
    clearInterval(this.videoTimer);
    this.rtc(6);
  }

  // A VP8 key frame each time (payload descriptor S=1 PID=0, then a key
  // frame header with the start code and 320x240): the SFU forwards video
  // to a new viewer only from a key frame.
  private sendVideo(): void {
    this.sendAV1();
    if (!this.video) return;
    const header = new RtpHeader({
      payloadType: 96,
      sequenceNumber: this.vseq++ & 0xffff,
      timestamp: (this.vts += 3000) >>> 0,
      marker: true,
    });
    const frame = Buffer.from([
      0x10, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 1, 2, 3, 4, 5, 6,
    ]);
    this.video.writeRtp(new RtpPacket(header, frame));
  }

  // An AV1 packet: aggregation header (one OBU element, new coded video
  // sequence), then a sequence header OBU. SFUs forward AV1 without parsing
  // it; the payload only has to be recognisable at the viewer.
  private av1seq = 9000;
  private sendAV1(): void {
    if (!this.av1Video) return;
    const header = new RtpHeader({
      payloadType: AV1_PT,
      sequenceNumber: this.av1seq++ & 0xffff,
      timestamp: this.vts >>> 0,
      marker: true,
    });
    this.av1Video.writeRtp(new RtpPacket(header, Buffer.from([0x18, 0x0a, 0x0b, 0, 0, 0, 0x24, 0x4f, 0x7e])));
  }

  mute(on: boolean): void {
    this.rtc(on ? 3 : 4);
  }

  leave(): void {
    this.conn.send("leave", { sessionID: this.sessionID });
  }

  startAudio(): void {
    this.timer = setInterval(() => this.sendPacket(), 20);
  }

  stopAudio(): void {
    clearInterval(this.timer);
  }

  private sendPacket(): void {
    if (!this.audio) return;
    this.levelId ??= audioLevelIdIn(this.pc.localDescription?.sdp) ?? AUDIO_LEVEL_ID;
    this.audio.writeRtp(opusPacket(this.seq++, (this.ts += 960), this.levelId, this.level));
    this.sent++;
    // When each packet left (the last 10 minutes' worth at 50 per second),
    // so a test can tell a gap rtcd caused from one of its own process.
    this.sentAt.push(Date.now());
    if (this.sentAt.length > 30_000) this.sentAt.splice(0, 10_000);
  }

  private levelId: number | undefined;
  readonly sentAt: number[] = [];

  connected(timeoutMs = 10_000): Promise<void> {
    return this.signaling.connected(timeoutMs);
  }

  async close(): Promise<void> {
    this.stopAudio();
    clearInterval(this.videoTimer);
    await this.pc.close();
  }
}

function pinCodec(t: RTCRtpTransceiver, name: string): void {
  const all = callsPeerConfig({ av1: true }).codecs?.video ?? [];
  const pinned = all.filter((c) => c.mimeType.toLowerCase() === `video/${name.toLowerCase()}`);
  if (pinned.length === 0) throw new Error(`werift offers no ${name} codec to pin`);
  t.setCodecPreferences(pinned);
}

// werift numbers the extensions itself: the ID its offer gave the
// ssrc-audio-level extension.
export function audioLevelIdIn(sdp: string | undefined): number | undefined {
  const m = new RegExp(`a=extmap:(\\d+) ${AUDIO_LEVEL_URI}`).exec(sdp ?? "");
  return m ? Number(m[1]) : undefined;
}

/**
 * A fake microphone's packet: 20 ms of opus silence with ssrc-audio-level
 * (RFC 6464: voice-activity bit and -dBov, 127 = silence) at `levelId`.
 */
// A call of a speaker and a listener with audio flowing: the neighbouring
// call the attack and fault tests watch while they hurt another. `peers`
// collects both for the caller's cleanup.
export async function talkingCall(
  conn: PluginConn,
  callID: string,
  peers: Peer[] = [],
): Promise<[Peer, Peer]> {
  const speaker = new Peer(conn, callID, `${callID}-speaker`);
  const listener = new Peer(conn, callID, `${callID}-listener`);
  peers.push(speaker, listener);
  speaker.join();
  listener.join();
  await speaker.offer({ send: true });
  await listener.offer({ send: false });
  await speaker.connected();
  await listener.connected();
  speaker.startAudio();
  await until(`audio in ${callID}`, () => listener.received.length >= 25);
  return [speaker, listener];
}

export function opusPacket(seq: number, timestamp: number, levelId: number, level: number): RtpPacket {
  const header = new RtpHeader({
    payloadType: 111,
    sequenceNumber: seq & 0xffff,
    timestamp: timestamp >>> 0,
    marker: false,
    extensions: [{ id: levelId, payload: Buffer.from([(level < 127 ? 0x80 : 0) | level]) }],
  });
  return new RtpPacket(header, OPUS_SILENCE);
}

// Tests wait with ./wait.ts; the benches and the e2e helpers import these
// from here. `sleep` times a bench's measurement window, never a test's sync.
export { until } from "./wait.ts";
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
