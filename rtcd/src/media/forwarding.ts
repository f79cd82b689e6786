// Which codec a client's section is answered with, and which of a sender's
// tracks a viewer receives: rtcd's codec rules (opus; VP8, or AV1 between
// clients that joined with `av1Support`), as pure functions of the session
// state so they are tested without a worker.
import type { types as ms } from "mediasoup";
import type { SessionConfig } from "../calls/media.ts";
import type { TrackType } from "./dc-msg.ts";
import type { Section } from "./negotiation.ts";
import type { CodecDesc, MediaDesc } from "./sdp.ts";

// A section of a session: the client's (with its producer) or ours (with a
// consumer).
export type MediaSection = Section<ProducerInfo, ms.Consumer>;

// What the forwarding rules read of a session.
export interface Sender {
  readonly cfg: SessionConfig;
  readonly sections: readonly MediaSection[];
}

// A track a client sends.
export interface ProducerInfo {
  producer: ms.Producer;
  owner: Sender;
  type: TrackType;
  mid: string;
  ssrcKey: string;
  /**
   * Has received RTP. Only then is it offered to the others, as rtcd adds a
   * track when its first packet arrives: a muted client's microphone section
   * costs nobody a section, and a 200-person call is 200 x 2 tracks, not
   * 200 x 199.
   */
  live: boolean;
}

const AUDIO_CODECS = ["opus"];
// rtcd registers both video codecs for every client; whether AV1 is
// forwarded depends on the viewer (below), not on what a sender may send.
const VIDEO_CODECS = ["vp8", "av1"];

export function supportsAV1(cfg: SessionConfig): boolean {
  return cfg.Props?.av1Support === true;
}

/**
 * The codec a client's section is answered with: the first of the client's
 * own preference order (the m-line's payload type order, which
 * setCodecPreferences writes) that rtcd speaks, as a WebRTC answerer does.
 */
export function pickCodec(md: MediaDesc): CodecDesc | undefined {
  const names = md.kind === "audio" ? AUDIO_CODECS : md.kind === "video" ? VIDEO_CODECS : [];
  // One pass over the formats and one over the codecs: hostile offers carry
  // many of both (sdp.ts caps them), so no lookup per comparison.
  const rank = new Map<string, number>();
  md.formats.forEach((f, i) => {
    if (!rank.has(f)) rank.set(f, i);
  });
  let best: CodecDesc | undefined;
  let bestRank = Infinity;
  for (const c of md.codecs) {
    if (!names.includes(c.name.toLowerCase())) continue;
    // Codecs missing from the m-line come last, in their own order.
    const r = rank.get(String(c.payloadType)) ?? Number.MAX_SAFE_INTEGER;
    if (r < bestRank) {
      best = c;
      bestRank = r;
    }
  }
  return best;
}

export function producerMime(p: ProducerInfo): string {
  return (p.producer.rtpParameters.codecs[0]?.mimeType ?? "").toLowerCase();
}

/** The sender's other open track of the same type (screen, video) in `mime`. */
function twin(p: ProducerInfo, mime: string): ProducerInfo | undefined {
  for (const sec of p.owner.sections) {
    const q = sec.producer;
    if (q && q !== p && q.type === p.type && !q.producer.closed && producerMime(q) === mime) return q;
  }
  return undefined;
}

export const av1Twin = (p: ProducerInfo) => twin(p, "video/av1");
export const vp8Twin = (p: ProducerInfo) => twin(p, "video/vp8");

/**
 * Whether `viewer` receives `p`. As in rtcd: AV1 only reaches viewers that
 * support it, and those get a sender's AV1 track instead of its VP8 one.
 * Unlike rtcd, the VP8 track is withheld only while the sender really has an
 * AV1 track of that type (rtcd withholds it whenever both sides announced
 * AV1, so a browser that cannot encode AV1 is not seen by AV1 viewers).
 */
export function forwards(p: ProducerInfo, viewer: { readonly cfg: SessionConfig }): boolean {
  const mime = producerMime(p);
  if (mime === "video/av1") return supportsAV1(viewer.cfg);
  if (mime === "video/vp8" && supportsAV1(viewer.cfg)) return av1Twin(p) === undefined;
  return true;
}
