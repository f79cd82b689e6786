// What the media plane forwards, and its fixed waits.
import type { types as ms } from "mediasoup";

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

// Like rtcd, offers of ours wait until the client's calls-dc is open (it
// carries the signaling lock), but only this long: a client whose channel
// never opens still gets media (rtcd would send it nothing).
export const DC_WAIT_MS = 5_000;

// A track's MIME type (audio/opus, video/VP8, video/AV1), as rtcd labels
// rtcd_rtc_rtp_tracks_total{type}: the kind alone cannot tell VP8 from AV1.
export function trackMime(p: ms.RtpParameters): string {
  return p.codecs[0]?.mimeType ?? "unknown";
}
