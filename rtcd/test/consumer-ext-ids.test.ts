// Consumers get the client's RTP header extension IDs: consumerCaps() marks
// them, the wrapper around mediasoup's own getConsumerRtpParameters applies
// them (the worker patch then sends with them).
import { createRequire } from "node:module";
import type { types as ms } from "mediasoup";
import { describe, expect, test } from "vitest";
import { installConsumerExtensionIds } from "../src/media/consumer-ext-ids.ts";
import type { MediaDesc } from "../src/media/sdp.ts";
import { consumerCaps } from "../src/media/sdp-mapping.ts";

const TWCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
const ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
const LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const MID = "urn:ietf:params:rtp-hdrext:sdes:mid";

// Chrome's first offer in a call: a microphone, IDs 1-4.
const chromeAudio = {
  kind: "audio",
  extensions: [
    { id: 1, uri: LEVEL },
    { id: 2, uri: ABS },
    { id: 3, uri: TWCC },
    { id: 4, uri: MID },
  ],
} as unknown as MediaDesc;

const router: ms.RtpCapabilities = {
  codecs: [
    {
      kind: "video",
      mimeType: "video/VP8",
      clockRate: 90000,
      preferredPayloadType: 96,
      rtcpFeedback: [{ type: "transport-cc" }, { type: "goog-remb" }, { type: "nack" }],
    },
  ],
  headerExtensions: [
    { kind: "video", uri: MID, preferredId: 1 },
    { kind: "video", uri: ABS, preferredId: 4 },
    { kind: "video", uri: TWCC, preferredId: 5 },
    { kind: "audio", uri: LEVEL, preferredId: 6 },
  ],
};

describe("consumer header extension IDs", () => {
  test("consumerCaps keeps what the client uses, with its IDs, never the MID", () => {
    const caps = consumerCaps(router, [chromeAudio], false);
    const got = (caps.headerExtensions ?? []).map((e) => [
      e.kind,
      e.uri,
      e.preferredId,
      (e as { clientId?: number }).clientId,
    ]);
    expect(got).toEqual([
      ["video", ABS, 4, 2],
      ["video", TWCC, 5, 3],
      ["audio", LEVEL, 6, 1],
    ]);
  });

  test("mediasoup's getConsumerRtpParameters, wrapped, numbers a consumer with the client's IDs", () => {
    installConsumerExtensionIds();
    installConsumerExtensionIds(); // once is enough; twice does no harm
    const ortc = createRequire(import.meta.url)("mediasoup/ortc") as {
      getConsumerRtpParameters(a: object): ms.RtpParameters;
    };
    const params = ortc.getConsumerRtpParameters({
      consumableRtpParameters: {
        codecs: [{ mimeType: "video/VP8", payloadType: 96, clockRate: 90000, rtcpFeedback: [] }],
        headerExtensions: [
          { uri: MID, id: 1 },
          { uri: ABS, id: 4 },
          { uri: TWCC, id: 5 },
        ],
        encodings: [{ ssrc: 1111 }],
        rtcp: { cname: "x" },
      },
      remoteRtpCapabilities: consumerCaps(router, [chromeAudio], false),
      pipe: false,
      enableRtx: true,
    });
    expect(params.headerExtensions?.map((e) => [e.uri, e.id])).toEqual([
      [ABS, 2],
      [TWCC, 3],
    ]);
    // transport-cc kept in the feedback: the worker's BWE is transport-cc.
    expect(params.codecs[0]?.rtcpFeedback?.map((f) => f.type)).toContain("transport-cc");
  });
});
