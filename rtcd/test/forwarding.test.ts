// rtcd's codec rules as pure functions: which codec a client's section is
// answered with, and which of a sender's tracks each viewer receives.
import { describe, expect, test } from "vitest";
import type { SessionConfig } from "../src/calls/media.ts";
import { av1Twin, forwards, pickCodec } from "../src/media/forwarding.ts";
import type { MediaDesc } from "../src/media/sdp.ts";
import type { PeerSession, ProducerInfo } from "../src/media/session-state.ts";
import { consumerCaps } from "../src/media/sdp-mapping.ts";

function section(kind: string, formats: string[], names: Record<string, string>): MediaDesc {
  return {
    kind,
    port: 9,
    proto: "UDP/TLS/RTP/SAVPF",
    formats,
    mid: "0",
    direction: "sendonly",
    // rtpmap lines in another order than the m-line, as some clients write them.
    codecs: Object.entries(names)
      .reverse()
      .map(([pt, name]) => ({ payloadType: Number(pt), name, clockRate: 90000, fmtp: {}, feedback: [] })),
    extensions: [],
    ssrcs: [],
    fid: [],
    rids: [],
  };
}

describe("pickCodec", () => {
  test("takes the client's first choice among VP8 and AV1, by m-line order", () => {
    expect(pickCodec(section("video", ["45", "96"], { 45: "AV1", 96: "VP8" }))?.name).toBe("AV1");
    expect(pickCodec(section("video", ["96", "45"], { 96: "VP8", 45: "AV1" }))?.name).toBe("VP8");
    expect(pickCodec(section("video", ["98", "35"], { 98: "VP9", 35: "AV1" }))?.payloadType).toBe(35);
  });

  test("finds nothing when the section has no codec rtcd speaks", () => {
    expect(pickCodec(section("video", ["98", "102"], { 98: "VP9", 102: "H264" }))).toBeUndefined();
    expect(pickCodec(section("audio", ["9"], { 9: "G722" }))).toBeUndefined();
    expect(pickCodec(section("audio", ["111"], { 111: "opus" }))?.payloadType).toBe(111);
  });
});

function session(id: string, av1: boolean): PeerSession {
  const cfg: SessionConfig = {
    GroupID: "g",
    CallID: "c",
    UserID: id,
    SessionID: id,
    Props: { channelID: "ch", av1Support: av1, dcSignaling: false },
  };
  return { cfg, sections: [] } as unknown as PeerSession; // only cfg and sections are read
}

function produce(owner: PeerSession, type: ProducerInfo["type"], mime: string): ProducerInfo {
  const producer = { closed: false, rtpParameters: { codecs: [{ mimeType: mime }] } };
  const p = { producer, owner, type, mid: "", ssrcKey: "", live: true } as unknown as ProducerInfo;
  owner.sections.push({ media: {} as never, origin: "client", producer: p });
  return p;
}

describe("forwards", () => {
  const sharer = session("sharer", true);
  const vp8 = produce(sharer, "screen", "video/VP8");
  const av1 = produce(sharer, "screen", "video/AV1");
  const voice = produce(sharer, "voice", "audio/opus");
  const av1Viewer = session("a", true);
  const vp8Viewer = session("b", false);

  test("AV1 reaches only viewers that joined with av1Support", () => {
    expect(forwards(av1, av1Viewer)).toBe(true);
    expect(forwards(av1, vp8Viewer)).toBe(false);
  });

  test("an AV1 viewer gets the AV1 twin instead of the VP8 track", () => {
    expect(av1Twin(vp8)).toBe(av1);
    expect(forwards(vp8, av1Viewer)).toBe(false);
    expect(forwards(vp8, vp8Viewer)).toBe(true);
  });

  test("audio goes to everyone", () => {
    expect(forwards(voice, av1Viewer)).toBe(true);
    expect(forwards(voice, vp8Viewer)).toBe(true);
  });

  test("a sender without an AV1 track is seen in VP8 by AV1 viewers too", () => {
    const other = session("vp8only", true);
    const only = produce(other, "screen", "video/VP8");
    expect(forwards(only, av1Viewer)).toBe(true);
    // ...and once the AV1 twin closes, the VP8 track is forwarded again.
    (av1.producer as unknown as { closed: boolean }).closed = true;
    expect(forwards(vp8, av1Viewer)).toBe(true);
  });
});

describe("consumerCaps", () => {
  const router = {
    codecs: [
      { kind: "video" as const, mimeType: "video/VP8", clockRate: 90000, preferredPayloadType: 96 },
      {
        kind: "video" as const,
        mimeType: "video/rtx",
        clockRate: 90000,
        preferredPayloadType: 97,
        parameters: { apt: 96 },
      },
      { kind: "video" as const, mimeType: "video/AV1", clockRate: 90000, preferredPayloadType: 45 },
      {
        kind: "video" as const,
        mimeType: "video/rtx",
        clockRate: 90000,
        preferredPayloadType: 98,
        parameters: { apt: 45 },
      },
    ],
    headerExtensions: [],
  };

  test("leaves AV1 and its RTX out for clients without av1Support", () => {
    const pts = (av1: boolean) => consumerCaps(router, [], av1).codecs!.map((c) => c.preferredPayloadType);
    expect(pts(false)).toEqual([96, 97]);
    expect(pts(true)).toEqual([96, 97, 45, 98]);
  });
});
