// One synthetic call on one rtcd pod, over one transport: two WebRTC sessions
// join the same call through rtcd's own WebSocket API (the way the Calls
// plugin relays browsers), each sends Opus audio, and each must receive the
// other's. rtcd's candidates of the other transport are removed from its SDP,
// so ICE can only succeed over the transport under test, against the address
// the pod advertises.
// werift and msgpack are imported here only, and this module is itself
// imported lazily (probe/runner.ts): the operator's memory at start is a
// measured target and most operators never run a probe.
import { randomBytes } from "node:crypto";
import { decodeMulti, encode } from "@msgpack/msgpack";
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtpHeader,
  RtpPacket,
  useSdesMid,
} from "werift";
import { WebSocket, type ErrorEvent } from "undici";
import type { ProbeOutcome, ProbeReason, Transport } from "./types.ts";

export interface MediaCallOptions {
  /** rtcd's API, http(s)://host:port. */
  base: string;
  clientID: string;
  authKey: string;
  transport: Transport;
  /** The whole call: join, ICE, DTLS and media (default 10 s). */
  timeoutMs?: number;
  /** Packets each side must receive from the other (default 5: 100 ms of audio). */
  minPackets?: number;
}

// 20 ms of Opus silence (TOC config 31, mono, one frame): what a muted
// browser sends; rtcd forwards it like any audio.
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

/** rtcd's SDP without the candidates of the other transport. */
export function keepTransport(sdp: string, transport: Transport): string {
  const other = transport === "udp" ? "tcp" : "udp";
  return sdp
    .split(/\r?\n/)
    .filter((l) => !(l.startsWith("a=candidate:") && l.split(" ")[2]?.toLowerCase() === other))
    .join("\r\n");
}

interface Side {
  sessionID: string;
  pc: RTCPeerConnection;
  track: MediaStreamTrack;
  received: number;
  sent: number;
  joinError?: string;
}

export async function mediaCall(o: MediaCallOptions): Promise<ProbeOutcome> {
  const start = Date.now();
  const timeoutMs = o.timeoutMs ?? 10_000;
  const minPackets = o.minPackets ?? 5;
  const callID = `rtcd-operator-probe-${randomBytes(6).toString("hex")}`;
  const sides: Side[] = [];
  let ws: WebSocket | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const steps: string[] = [];
  const step = (what: string) => steps.push(`${what} +${Date.now() - start}`);
  const done = (reason: ProbeReason | "ok", message: string): ProbeOutcome => ({
    transport: o.transport,
    ok: reason === "ok",
    reason,
    message,
    durationMs: Date.now() - start,
    steps: [
      ...steps,
      `sent ${sides.map((s) => s.sent).join("/")}`,
      `received ${sides.map((s) => s.received).join("/")}`,
    ].join(", "),
  });
  try {
    const auth = `Basic ${Buffer.from(`${o.clientID}:${o.authKey}`).toString("base64")}`;
    ws = new WebSocket(`${o.base.replace(/^http/, "ws")}/ws`, { headers: { authorization: auth } });
    ws.binaryType = "arraybuffer";
    const socket = ws;
    const hello = new Promise<void>((resolve, reject) => {
      socket.addEventListener("message", () => resolve(), { once: true });
      socket.addEventListener(
        "error",
        (e) => reject(new Error(`WebSocket: ${(e as ErrorEvent).message || "connection failed"}`)),
        { once: true },
      );
      socket.addEventListener("close", (e) => reject(new Error(`WebSocket closed (${e.code})`)), {
        once: true,
      });
    });
    const left = () => timeoutMs - (Date.now() - start);
    const greeted = await within(hello, left()).catch((err: unknown) => String(err));
    if (greeted !== undefined) {
      const why = greeted === false ? "no hello within the timeout" : greeted;
      return done("JoinFailed", `rtcd's WebSocket did not accept the probe client: ${why}`);
    }
    const send = (type: string, data: unknown) => socket.send(Buffer.concat([encode(type), encode(data)]));
    for (const name of ["a", "b"]) {
      const sessionID = `${callID}-${name}`;
      const pc = new RTCPeerConnection({
        codecs: {
          audio: [
            new RTCRtpCodecParameters({
              mimeType: "audio/opus",
              clockRate: 48000,
              channels: 2,
              payloadType: 111,
            }),
          ],
        },
        headerExtensions: { audio: [useSdesMid()] },
        iceUseTcp: o.transport === "tcp",
        // Only outbound TCP: nothing should listen inside the operator.
        iceTcpPassive: false,
        iceUseIpv6: false,
        // A pod advertising loopback (tests, a node-local rtcd) is reached from loopback.
        iceAdditionalHostAddresses: ["127.0.0.1"],
      });
      const track = new MediaStreamTrack({ kind: "audio" });
      // As the Calls client does: its microphone sendonly; rtcd offers the others' tracks after.
      pc.addTransceiver(track, { direction: "sendonly" });
      const side: Side = { sessionID, pc, track, received: 0, sent: 0 };
      pc.onTrack.subscribe((t) => {
        step(`${name} track`);
        t.onReceiveRtp.subscribe(() => {
          if (side.received++ === 0) step(`${name} rtp`);
        });
      });
      pc.iceConnectionStateChange.subscribe((st) => step(`${name} ice ${st}`));
      pc.connectionStateChange.subscribe((st) => step(`${name} ${st}`));
      sides.push(side);
    }
    const rtc = (side: Side, type: number, data: unknown) =>
      send("rtc", {
        group_id: o.clientID,
        user_id: side.sessionID,
        session_id: side.sessionID,
        call_id: callID,
        type,
        data: Buffer.from(JSON.stringify(data)),
      });
    socket.addEventListener("message", (ev: MessageEvent) => {
      const [type, data] = [...decodeMulti(new Uint8Array(ev.data as ArrayBuffer))] as [
        string,
        Record<string, unknown> | undefined,
      ];
      const sid = (data?.["session_id"] ?? data?.["sessionID"]) as string | undefined;
      const side = sides.find((s) => s.sessionID === sid);
      if (!side) return;
      if (type === "close" || type === "error") {
        side.joinError ??= `rtcd closed session ${side.sessionID}`;
        return;
      }
      if (type !== "rtc" || data?.["type"] !== 2 || !data["data"]) return;
      const desc = JSON.parse(Buffer.from(data["data"] as Uint8Array).toString()) as {
        type: "offer" | "answer";
        sdp: string;
      };
      step(`${side.sessionID.slice(-1)} ${desc.type}`);
      void (async () => {
        await side.pc.setRemoteDescription({ type: desc.type, sdp: keepTransport(desc.sdp, o.transport) });
        if (desc.type === "offer") {
          await side.pc.setLocalDescription(await side.pc.createAnswer());
          rtc(side, 2, { type: "answer", sdp: side.pc.localDescription!.sdp });
        }
      })().catch((err: unknown) => (side.joinError ??= `negotiation: ${String(err)}`));
    });
    for (const side of sides) {
      send("join", {
        callID,
        userID: side.sessionID,
        sessionID: side.sessionID,
        channelID: callID,
        av1Support: false,
        dcSignaling: false,
      });
      await side.pc.setLocalDescription(await side.pc.createOffer());
      rtc(side, 2, { type: "offer", sdp: side.pc.localDescription!.sdp });
    }
    let seq = randomBytes(2).readUInt16BE();
    let ts = 0;
    timer = setInterval(() => {
      seq = (seq + 1) & 0xffff;
      ts = (ts + 960) >>> 0;
      for (const s of sides) {
        if (s.pc.connectionState !== "connected") continue;
        const h = new RtpHeader({ payloadType: 111, sequenceNumber: seq, timestamp: ts, marker: false });
        s.track.writeRtp(new RtpPacket(h, OPUS_SILENCE));
        s.sent++;
      }
    }, 20);
    const passed = await poll(() => sides.every((s) => s.received >= minPackets), left());
    if (passed) return done("ok", `audio both ways over ${o.transport.toUpperCase()}`);
    return verdict(sides, o.transport, done);
  } catch (err) {
    return done("JoinFailed", err instanceof Error ? err.message : String(err));
  } finally {
    clearInterval(timer);
    if (ws && ws.readyState === ws.OPEN) {
      for (const s of sides) ws.send(Buffer.concat([encode("leave"), encode({ sessionID: s.sessionID })]));
    }
    ws?.close();
    await Promise.all(sides.map((s) => s.pc.close().catch(() => undefined)));
  }
}

/** Why the call did not carry audio both ways, from the furthest step any session reached. */
function verdict(
  sides: Side[],
  transport: Transport,
  done: (r: ProbeReason, m: string) => ProbeOutcome,
): ProbeOutcome {
  const t = transport.toUpperCase();
  const joinError = sides.find((s) => s.joinError)?.joinError;
  if (joinError) return done("JoinFailed", joinError);
  if (sides.some((s) => !s.pc.remoteDescription)) return done("JoinFailed", "rtcd sent no SDP answer");
  if (sides.some((s) => !["connected", "completed"].includes(s.pc.iceConnectionState))) {
    const states = sides.map((s) => s.pc.iceConnectionState).join("/");
    return done("ICETimeout", `ICE over ${t} did not connect (${states})`);
  }
  if (sides.some((s) => s.pc.connectionState !== "connected")) {
    const states = sides.map((s) => s.pc.connectionState).join("/");
    return done("DTLSFailed", `ICE connected over ${t} but DTLS did not (${states})`);
  }
  const got = sides.map((s) => s.received).join("/");
  return done("NoMedia", `connected over ${t}, but audio did not flow both ways (packets received ${got})`);
}

function within<T>(p: Promise<T>, ms: number): Promise<T | false> {
  return Promise.race([p, new Promise<false>((r) => setTimeout(() => r(false), Math.max(0, ms)).unref())]);
}

/** Checks `fn` every 20 ms until it holds (true) or `ms` passes (false). */
async function poll(fn: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
