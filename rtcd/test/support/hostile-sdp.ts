// Offers crafted to make SDP handling slow: each fills the 256 KB an offer
// may have with as many codecs, formats, SSRCs, header extensions, RIDs or
// sections as fit, all named like codecs rtcd speaks, so that every
// per-section loop of the parse and codec choice runs at its worst.
// Shared by the unit test, the benchmark and the attack test.
import type { types as ms } from "mediasoup";
import { pickCodec } from "../../src/media/forwarding.ts";
import { parseSdp } from "../../src/media/sdp.ts";
import { consumerCaps, toMsCodec } from "../../src/media/sdp-mapping.ts";

export const OFFER_BYTES = 256 * 1024;

const HEAD = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "a=ice-ufrag:abcd",
  "a=ice-pwd:abcdefghijklmnopqrstuvwx",
  "a=fingerprint:sha-256 " + Array.from({ length: 32 }, () => "AB").join(":"),
  "a=setup:actpass",
];

// Fills the offer with `line(i)` (plus whatever each section needs) until
// the next line would pass `bytes`.
function fill(head: string[], line: (i: number) => string, bytes = OFFER_BYTES): string {
  const out = [...head];
  let size = out.join("\r\n").length + 2;
  for (let i = 0; ; i++) {
    const l = line(i);
    if (size + l.length + 2 > bytes) break;
    out.push(l);
    size += l.length + 2;
  }
  return out.join("\r\n") + "\r\n";
}

function section(kind: string, formats: string, mid = "0"): string[] {
  return [
    `m=${kind} 9 UDP/TLS/RTP/SAVPF ${formats}`,
    "c=IN IP4 0.0.0.0",
    `a=mid:${mid}`,
    "a=sendonly",
    "a=rtcp-mux",
    "a=msid:stream track",
  ];
}

export type HostileKind = "codecs" | "formats" | "ssrcs" | "extensions" | "rids" | "sections" | "feedback";

// Every codec "opus", payload types beyond 7 bits included (only the
// 256 KB bound stops them), in reverse order of the m-line's 100 formats so
// the codec choice has to rank them all; one rtpmap line each, to fit the
// most (the "formats" offer covers long m-lines).
function codecs(): string {
  const n = 8000;
  const pts = Array.from({ length: n }, (_, i) => 10000 + i);
  const head = [...HEAD, ...section("audio", pts.slice(0, 100).join(" ")), "a=ssrc:1 cname:x"];
  return fill(head, (i) => `a=rtpmap:${pts[n - 1 - (i % n)]} opus/48000/2`);
}

export function hostileOffer(kind: HostileKind): string {
  switch (kind) {
    case "codecs":
      return codecs();
    case "formats": {
      // A huge m-line: tens of thousands of formats, the one codec last.
      const head = [...HEAD, "a=rtpmap:111 opus/48000/2", "a=ssrc:1 cname:x"];
      const room = OFFER_BYTES - head.join("\r\n").length - 200;
      const pts: string[] = [];
      for (let i = 0, len = 0; len < room; i++) len += (pts[pts.length] = String(1000 + i)).length + 1;
      const [mline, ...rest] = section("audio", `${pts.join(" ")} 111`);
      return [...HEAD, mline, ...rest, "a=rtpmap:111 opus/48000/2", "a=ssrc:1 cname:x"].join("\r\n") + "\r\n";
    }
    case "ssrcs":
      return fill([...HEAD, ...section("audio", "111"), "a=rtpmap:111 opus/48000/2"], (i) =>
        i % 2 === 0 ? `a=ssrc:${100000 + (i >> 1)} cname:x` : `a=ssrc:${100000 + (i >> 1)} msid:stream track`,
      );
    case "extensions":
      return fill(
        [...HEAD, ...section("audio", "111"), "a=rtpmap:111 opus/48000/2", "a=ssrc:1 cname:x"],
        (i) => `a=extmap:${1 + (i % 14)} urn:ietf:params:rtp-hdrext:ssrc-audio-level`,
      );
    case "rids":
      return fill([...HEAD, ...section("video", "96"), "a=rtpmap:96 VP8/90000"], (i) => `a=rid:r${i} send`);
    case "feedback":
      return fill(
        [...HEAD, ...section("audio", "111"), "a=rtpmap:111 opus/48000/2", "a=ssrc:1 cname:x"],
        (i) => `a=rtcp-fb:111 nack x${i}`,
      );
    case "sections": {
      const out = [...HEAD];
      let size = out.join("\r\n").length + 2;
      for (let i = 0; ; i++) {
        const sec = [...section("audio", "111", String(i)), "a=rtpmap:111 opus/48000/2"].join("\r\n");
        if (size + sec.length + 2 > OFFER_BYTES) break;
        out.push(sec);
        size += sec.length + 2;
      }
      return out.join("\r\n") + "\r\n";
    }
  }
}

// The largest offer within every limit: as many sections as allowed, each
// at the per-section limits, up to 256 KB.
export function largestLegalOffer(limits: {
  codecs: number;
  ssrcs: number;
  extensions: number;
  rids: number;
  sections: number;
}): string {
  const out = [...HEAD];
  const size = () => out.join("\r\n").length + 2;
  for (let s = 0; s < limits.sections; s++) {
    const sec: string[] = [];
    const pts = Array.from({ length: limits.codecs }, (_, i) => i);
    sec.push(...section(s % 2 ? "video" : "audio", pts.join(" "), `m${s}`));
    for (const pt of pts.reverse()) sec.push(`a=rtpmap:${pt} ${s % 2 ? "VP8/90000" : "opus/48000/2"}`);
    for (let e = 0; e < limits.extensions; e++) sec.push(`a=extmap:${e + 1} urn:x-${e}`);
    for (let i = 0; i < limits.ssrcs; i++) sec.push(`a=ssrc:${s * 1000 + i} cname:x`);
    if (s % 2) for (let r = 0; r < limits.rids; r++) sec.push(`a=rid:r${r} send`);
    if (size() + sec.join("\r\n").length + 2 > OFFER_BYTES) break;
    out.push(...sec);
  }
  return out.join("\r\n") + "\r\n";
}

// What the router offers a client (a subset of MEDIA_CODECS in plane.ts).
const ROUTER: ms.RtpCapabilities = {
  codecs: [
    { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2, preferredPayloadType: 100 },
    { kind: "video", mimeType: "video/VP8", clockRate: 90000, preferredPayloadType: 101 },
    {
      kind: "video",
      mimeType: "video/rtx",
      clockRate: 90000,
      preferredPayloadType: 102,
      parameters: { apt: 101 },
    },
  ],
  headerExtensions: [
    { kind: "audio", uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level", preferredId: 1 },
    { kind: "video", uri: "urn:ietf:params:rtp-hdrext:sdes:mid", preferredId: 2 },
  ],
};

// The media plane's path for an offer, without a worker: parse, then per
// section the codec choice, its RTX, the SSRC lookups and the RTP
// parameters; and the client's receive capabilities.
export function parseAndMap(sdp: string): number {
  const offer = parseSdp(sdp);
  let mapped = 0;
  consumerCaps(ROUTER, offer.media, false);
  for (const md of offer.media) {
    const codec = pickCodec(md);
    if (!codec) continue;
    const rtx = md.codecs.find(
      (c) => c.name.toLowerCase() === "rtx" && Number(c.fmtp["apt"]) === codec.payloadType,
    );
    md.ssrcs.find((x) => x.msid);
    md.ssrcs.find((x) => x.cname);
    toMsCodec(md.kind, codec);
    if (rtx) toMsCodec(md.kind, rtx);
    mapped++;
  }
  return mapped;
}

// Milliseconds of this thread's CPU time `fn` takes, refusals included
// (refusing is a result too; its cost is what is measured). CPU time, not
// wall time: the work the event loop cannot do anything else during, which
// does not change with how busy other processes keep a shared machine.
export function timeMs(fn: () => unknown): number {
  const t0 = process.threadCpuUsage();
  try {
    fn();
  } catch {
    // Measured above.
  }
  const t = process.threadCpuUsage(t0);
  return (t.user + t.system) / 1000;
}

export function wallMs(fn: () => unknown): number {
  const t0 = performance.now();
  try {
    fn();
  } catch {
    // Measured above.
  }
  return performance.now() - t0;
}
