// Helpers between the SDP sections (sdp.ts) and mediasoup's RTP parameters,
// and small encoders the media plane uses.
import { randomBytes } from "node:crypto";
import type { types as ms } from "mediasoup";
import { candidateKey, type AnnouncedPorts } from "./addresses.ts";
import type { ClientHeaderExtension } from "./consumer-ext-ids.ts";
import type { CodecDesc, LocalMedia, LocalTransport, MediaDesc } from "./sdp.ts";

export function parseJSON(data: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
}

export function json(v: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(v));
}

const ALPHANUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
export function randomID(n: number): string {
  const b = randomBytes(n);
  let out = "";
  for (let i = 0; i < n; i++) out += ALPHANUM[b[i]! % ALPHANUM.length];
  return out;
}

export function rejectedSection(md: MediaDesc): LocalMedia {
  return {
    kind: md.kind,
    mid: md.mid,
    port: 0,
    proto: md.proto,
    direction: "inactive",
    codecs: [],
    extensions: [],
    formats: md.formats.length ? md.formats : ["0"],
  };
}

export function answerCodec(c: CodecDesc): CodecDesc {
  const feedback = c.feedback.filter((f) => ["nack", "ccm", "goog-remb", "transport-cc"].includes(f.type));
  return { ...c, feedback };
}

export function toMsCodec(kind: string, c: CodecDesc): ms.RtpCodecParameters {
  return {
    mimeType: `${kind}/${c.name}`,
    payloadType: c.payloadType,
    clockRate: c.clockRate,
    ...(c.channels ? { channels: c.channels } : {}),
    parameters: { ...c.fmtp },
    rtcpFeedback: answerCodec(c).feedback.map((f) => ({ type: f.type, parameter: f.parameter })),
  };
}

export function fromMsCodec(c: ms.RtpCodecParameters): CodecDesc {
  return {
    payloadType: c.payloadType,
    name: c.mimeType.split("/")[1]!,
    clockRate: c.clockRate,
    ...(c.channels && c.channels > 1 ? { channels: c.channels } : {}),
    fmtp: { ...(c.parameters as Record<string, string | number>) },
    feedback: (c.rtcpFeedback ?? []).map((f) => ({ type: f.type, parameter: f.parameter ?? "" })),
  };
}

// What a client can receive: the router's codecs (AV1 only for clients that
// joined with av1Support, as rtcd forwards it), and the header extensions the
// client uses, each marked with the ID the client gave it: in a BUNDLE group
// one ID means one URI across sections, so consumers send with the client's
// IDs (consumer-ext-ids.ts, and the worker patch in worker-build/patches).
// Never the MID: mediasoup would write its own consumer MIDs, not our
// sections', so viewers demux our sections by their a=ssrc lines.
const NOT_FORWARDED = new Set([
  "urn:ietf:params:rtp-hdrext:sdes:mid",
  "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
  "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
]);

export function consumerCaps(
  router: ms.RtpCapabilities,
  media: MediaDesc[],
  av1: boolean,
): ms.RtpCapabilities {
  const clientExt = new Map<string, number>();
  for (const m of media) for (const e of m.extensions) clientExt.set(`${m.kind} ${e.uri}`, e.id);
  const anyKind = new Map<string, number>();
  for (const m of media) for (const e of m.extensions) anyKind.set(e.uri, e.id);
  const headerExtensions: ClientHeaderExtension[] = [];
  for (const h of router.headerExtensions ?? []) {
    if (NOT_FORWARDED.has(h.uri)) continue;
    const clientId = clientExt.get(`${h.kind} ${h.uri}`) ?? anyKind.get(h.uri);
    // One-byte header elements carry IDs 1 to 14, which is what the worker writes.
    if (clientId !== undefined && clientId >= 1 && clientId <= 14) headerExtensions.push({ ...h, clientId });
  }
  return {
    codecs: (router.codecs ?? []).filter((c) => av1 || !isAV1OrItsRtx(c, router.codecs ?? [])),
    headerExtensions,
  };
}

export function localTransport(
  t: ms.WebRtcTransport,
  setup: string,
  ports: AnnouncedPorts = new Map(),
): LocalTransport {
  return {
    ufrag: t.iceParameters.usernameFragment,
    pwd: t.iceParameters.password,
    fingerprints: t.dtlsParameters.fingerprints
      .filter((f) => f.algorithm === "sha-256")
      .map((f) => ({ algorithm: f.algorithm, value: f.value })),
    candidates: t.iceCandidates.map(
      (c) =>
        `${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${
          ports.get(candidateKey(c.protocol, c.address, c.port)) ?? c.port
        } typ host${c.protocol === "tcp" ? ` tcptype ${c.tcpType ?? "passive"}` : ""}`,
    ),
    setup,
  };
}

export function announcedIp(t: ms.WebRtcTransport): string {
  const c = t.iceCandidates.find((x) => x.protocol === "udp") ?? t.iceCandidates[0];
  const ip = c?.address ?? "0.0.0.0";
  return /^[\d.]+$/.test(ip) || ip.includes(":") ? ip : "0.0.0.0";
}

function isAV1OrItsRtx(c: ms.RtpCodecCapability, all: ms.RtpCodecCapability[]): boolean {
  const av1 = all.find((x) => x.mimeType.toLowerCase() === "video/av1");
  if (!av1) return false;
  return (
    c === av1 ||
    (c.mimeType.toLowerCase() === "video/rtx" && Number(c.parameters?.["apt"]) === av1.preferredPayloadType)
  );
}
