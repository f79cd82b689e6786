// How a client's m-line is answered and what it produces, and the section
// of ours a consumer goes out in: SDP <-> mediasoup parameters, as pure
// functions of the section (the session applies them).
import type { types as ms } from "mediasoup";
import { SUPPORTED_EXTENSIONS } from "./codecs.ts";
import type { MediaMap, TrackType } from "./dc-msg.ts";
import { pickCodec, type MediaSection } from "./forwarding.ts";
import type { LocalMedia, MediaDesc } from "./sdp.ts";
import { answerCodec, fromMsCodec, randomID, rejectedSection, toMsCodec } from "./sdp-mapping.ts";

export function sends(md: MediaDesc): boolean {
  return md.port !== 0 && (md.direction === "sendrecv" || md.direction === "sendonly");
}

// What identifies the stream a section sends: a change means a new producer.
export function ssrcKey(md: MediaDesc): string {
  return md.ssrcs.map((x) => x.ssrc).join(",") + "|" + md.rids.map((r) => r.id).join(",");
}

export function isDataSection(md: MediaDesc): boolean {
  return md.port !== 0 && md.kind === "application" && md.proto.includes("SCTP");
}

// Our answer to the client's calls-dc section.
export function dataSection(md: MediaDesc): LocalMedia {
  return {
    kind: "application",
    mid: md.mid,
    port: 7,
    proto: md.proto,
    direction: "sendrecv",
    codecs: [],
    extensions: [],
    sctpPort: 5000,
  };
}

export interface Produce {
  kind: "audio" | "video";
  type: TrackType;
  rtpParameters: ms.RtpParameters;
}

/**
 * The answer to an audio or video m-line of the client's (rejected without
 * a codec rtcd speaks: `noCodec`), and, when it sends a stream, the producer
 * to create (`screenStreamID`: the stream the client announced as its screen).
 */
export function answerMedia(
  md: MediaDesc,
  screenStreamID: string,
  sessionID: string,
): { media: LocalMedia; noCodec?: true; produce?: Produce } {
  if (md.port === 0 || (md.kind !== "audio" && md.kind !== "video")) return { media: rejectedSection(md) };
  const codec = pickCodec(md);
  if (!codec) return { media: rejectedSection(md), noCodec: true };
  const rtx = md.codecs.find(
    (c) => c.name.toLowerCase() === "rtx" && Number(c.fmtp["apt"]) === codec.payloadType,
  );
  const extensions = md.extensions.filter((e) => SUPPORTED_EXTENSIONS.has(e.uri));
  const simulcastRids = md.rids.filter((r) => r.direction === "send").map((r) => r.id);
  const media: LocalMedia = {
    kind: md.kind,
    mid: md.mid,
    port: 7,
    proto: "UDP/TLS/RTP/SAVPF",
    direction: sends(md) ? "recvonly" : "inactive",
    codecs: [answerCodec(codec), ...(rtx ? [answerCodec(rtx)] : [])],
    extensions,
    ...(simulcastRids.length > 1 ? { simulcastRecv: { rids: simulcastRids } } : {}),
  };
  if (!sends(md) || (md.ssrcs.length === 0 && simulcastRids.length === 0)) return { media };

  const stream = md.msid?.stream ?? md.ssrcs.find((x) => x.msid)?.msid?.split(" ")[0] ?? "";
  const screen = screenStreamID !== "" && stream === screenStreamID;
  const type: TrackType =
    md.kind === "audio" ? (screen ? "screen-audio" : "voice") : screen ? "screen" : "video";
  const cname = md.ssrcs.find((x) => x.cname)?.cname ?? sessionID;
  let encodings: ms.RtpEncodingParameters[];
  if (simulcastRids.length > 1) {
    // mediasoup wants the lowest quality first; rtcd's RIDs are h and l.
    const order = (r: string) => (r === "l" ? 0 : r === "m" ? 1 : r === "h" ? 2 : 3);
    encodings = [...simulcastRids].sort((a, b) => order(a) - order(b)).map((rid) => ({ rid }));
  } else {
    const fid = md.fid[0];
    const primary = fid ? fid[0] : md.ssrcs[0]!.ssrc;
    encodings = [{ ssrc: primary, ...(fid ? { rtx: { ssrc: fid[1] } } : {}) }];
  }
  const rtpParameters: ms.RtpParameters = {
    mid: md.mid,
    codecs: [toMsCodec(md.kind, codec), ...(rtx ? [toMsCodec(md.kind, rtx)] : [])],
    headerExtensions: extensions.map((e) => ({ uri: e.uri as ms.RtpHeaderExtensionUri, id: e.id })),
    encodings,
    rtcp: { cname, reducedSize: true },
  };
  return { media, produce: { kind: md.kind, type, rtpParameters } };
}

// The section of ours a consumer is sent on (its mid is given when offered),
// with rtcd's stream ID (the sender's session ID) and track ID.
export function consumerMedia(consumer: ms.Consumer, type: TrackType, senderID: string): LocalMedia {
  const rp = consumer.rtpParameters;
  const enc = rp.encodings?.[0];
  if (!enc?.ssrc) throw new Error("consumer without an SSRC");
  return {
    kind: consumer.kind,
    mid: "",
    port: 7,
    proto: "UDP/TLS/RTP/SAVPF",
    direction: "sendonly",
    codecs: rp.codecs.map(fromMsCodec),
    extensions: (rp.headerExtensions ?? []).map((e) => ({ id: e.id, uri: e.uri })),
    send: {
      ssrc: enc.ssrc,
      ...(enc.rtx?.ssrc ? { rtxSsrc: enc.rtx.ssrc } : {}),
      cname: rp.rtcp?.cname ?? senderID,
      stream: senderID,
      track: `${type}_${senderID}_${randomID(8)}`,
    },
  };
}

// mid -> what we send on it and whose it is, from a session's sections.
// rtcd v1.2.6 puts the receiving session's own ID in sender_id; we put the
// sender's.
export function mediaMap(sections: readonly MediaSection[]): MediaMap {
  const map: MediaMap = {};
  for (const sec of sections) {
    const c = sec.consumer;
    if (sec.origin !== "server" || !c || c.closed) continue;
    const app = c.appData as { type?: TrackType; from?: string };
    if (app.type && app.from) map[sec.media.mid] = { type: app.type, sender_id: app.from };
  }
  return map;
}
