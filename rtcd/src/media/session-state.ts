// The state the media plane keeps per worker, call and session, and the
// codecs and header extensions it forwards.
import type { types as ms } from "mediasoup";
import type { MediaEvents, SessionConfig } from "../calls/media.ts";
import type { Logger } from "../log.ts";
import type { CallsDC } from "./calls-dc.ts";
import type { TrackType } from "./dc-msg.ts";
import type { LocalMedia } from "./sdp.ts";
import type { WorkerLoad } from "./worker-load.ts";

// opus, VP8 and AV1 with rtcd's payload types and parameters.
export const MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
  {
    kind: "audio",
    mimeType: "audio/opus",
    preferredPayloadType: 111,
    clockRate: 48000,
    channels: 2,
    parameters: { minptime: 10, useinbandfec: 1 },
  },
  { kind: "video", mimeType: "video/VP8", preferredPayloadType: 96, clockRate: 90000 },
  { kind: "video", mimeType: "video/AV1", preferredPayloadType: 45, clockRate: 90000 },
];

export const SUPPORTED_EXTENSIONS = new Set([
  "urn:ietf:params:rtp-hdrext:sdes:mid",
  "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
  "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
  "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
  "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
]);

export interface WorkerSlot extends WorkerLoad {
  worker: ms.Worker;
  server: ms.WebRtcServer;
  index: number;
}

export interface CallState {
  key: string;
  slot: WorkerSlot;
  router: ms.Router;
  levels: ms.AudioLevelObserver;
  sessions: Map<string, PeerSession>;
  speaking: Set<string>;
}

export interface Section {
  media: LocalMedia;
  origin: "client" | "server";
  producer?: ProducerInfo;
  consumer?: ms.Consumer;
}

export interface ProducerInfo {
  producer: ms.Producer;
  owner: PeerSession;
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

export interface PeerSession {
  cfg: SessionConfig;
  events: MediaEvents;
  log: Logger;
  call: CallState;
  transport: ms.WebRtcTransport;
  sections: Section[];
  // Sections added by an offer of ours the client has not answered yet.
  offered: Section[] | undefined;
  // Consumers waiting for the next offer of ours.
  toOffer: Section[];
  sdpVersion: number;
  sdpSessionId: string;
  connected: boolean;
  firstOffer: boolean;
  muted: boolean;
  screenStreamID: string;
  caps: ms.RtpCapabilities | undefined;
  queue: Promise<void>;
  closed: boolean;
  createdAt: number;
  timers: NodeJS.Timeout[];
  midCounter: number;
  // Our DTLS role as written in SDP, fixed by the first offer.
  dtlsSetup: "active" | "passive";
  // A section of ours changed (went inactive) since our last offer.
  dirty: boolean;
  // The client's calls-dc (when its offer had a data section). Like rtcd,
  // offers of ours wait until it is open (it carries the signaling lock),
  // but only for DC_WAIT_MS: a client whose channel never opens still gets
  // media (rtcd would send it nothing).
  dc: CallsDC | undefined;
  wantsDC: boolean;
  dcWaitOver: boolean;
  // When our outstanding offer went out (the server side of the lock).
  offeredAt: number;
  // Since when an offer of ours has been waiting for the client's lock.
  lockWaitSince: number;
  // Producers being consumed for this session right now (consume() awaits
  // the worker, and the newcomer's catch-up can race a sender's new track).
  consuming: Set<string>;
}

export const DC_WAIT_MS = 5_000;
