// Pure pieces of the media plane: SDP in and out, ICE address overrides,
// worker binary resolution.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { types as ms } from "mediasoup";
import { announcedPorts, listenAddresses } from "../src/media/addresses.ts";
import { localTransport } from "../src/media/sdp-mapping.ts";
import { parseSdp, SdpError, transportParams, writeSdp } from "../src/media/sdp.ts";
import {
  assertPatchedWorker,
  resolveWorkerBin,
  WORKER_PATCH_MARKERS,
  WorkerBinaryMissing,
  WorkerBinaryUnpatched,
} from "../src/media/worker-bin.ts";

// The shape a browser's first offer has in a call: a microphone and the
// calls-dc data channel, BUNDLEd.
const BROWSER_OFFER = [
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS stream1",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=ice-pwd:0123456789012345678901",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
  "a=setup:actpass",
  "a=mid:0",
  "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
  "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
  "a=sendrecv",
  "a=msid:stream1 track1",
  "a=rtcp-mux",
  "a=rtpmap:111 opus/48000/2",
  "a=rtcp-fb:111 transport-cc",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2",
  "a=fmtp:63 111/111",
  "a=rtpmap:9 G722/8000",
  "a=ssrc:1111 cname:abc",
  "a=ssrc:1111 msid:stream1 track1",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 0.0.0.0",
  "a=mid:1",
  "a=sctp-port:5000",
  "a=max-message-size:262144",
  "",
].join("\r\n");

describe("SDP", () => {
  test("a browser offer parses into sections, codecs, extensions and SSRCs", () => {
    const s = parseSdp(BROWSER_OFFER);
    expect(s.bundle).toEqual(["0", "1"]);
    expect(s.media.map((m) => [m.kind, m.mid, m.direction])).toEqual([
      ["audio", "0", "sendrecv"],
      ["application", "1", "sendrecv"],
    ]);
    const audio = s.media[0]!;
    expect(audio.codecs.find((c) => c.name === "opus")).toMatchObject({
      payloadType: 111,
      clockRate: 48000,
      channels: 2,
      fmtp: { minptime: 10, useinbandfec: 1 },
      feedback: [{ type: "transport-cc", parameter: "" }],
    });
    expect(audio.extensions).toContainEqual({ id: 1, uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level" });
    expect(audio.ssrcs).toEqual([{ ssrc: 1111, cname: "abc", msid: "stream1 track1" }]);
    expect(audio.msid).toEqual({ stream: "stream1", track: "track1" });
    expect(transportParams(s)).toMatchObject({ ufrag: "abcd", setup: "actpass" });
  });

  test("simulcast RIDs are read", () => {
    const sdp = BROWSER_OFFER.replace(
      "a=ssrc:1111 cname:abc",
      "a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\na=ssrc:1111 cname:abc",
    );
    const m = parseSdp(sdp).media[0]!;
    expect(m.rids.map((r) => r.id)).toEqual(["h", "l"]);
    expect(m.simulcast).toBe("send h;l");
  });

  test.each([
    ["empty", ""],
    ["not SDP", "hello"],
    ["bad m-line", "v=0\r\nm=audio x\r\n"],
    ["no mid", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"],
    ["bad rtpmap", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:x\r\n"],
    ["huge", "v=0\r\n" + "a=x\r\n".repeat(100_000)],
  ])("malformed SDP is an SdpError: %s", (_name, sdp) => {
    expect(() => parseSdp(sdp)).toThrow(SdpError);
  });

  test("no ICE credentials or fingerprint is an SdpError", () => {
    expect(() => transportParams(parseSdp(BROWSER_OFFER.replace(/a=ice-ufrag:abcd\r\n/, "")))).toThrow(
      /ICE credentials/,
    );
  });

  test("written SDP round-trips through the parser", () => {
    const sdp = writeSdp(
      "123",
      2,
      {
        ufrag: "u",
        pwd: "p".repeat(22),
        fingerprints: [{ algorithm: "sha-256", value: "AA:BB" }],
        candidates: ["abc 1 udp 1076302079 127.0.0.1 40000 typ host"],
        setup: "passive",
      },
      [
        {
          kind: "audio",
          mid: "0",
          port: 7,
          proto: "UDP/TLS/RTP/SAVPF",
          direction: "recvonly",
          codecs: [
            {
              payloadType: 111,
              name: "opus",
              clockRate: 48000,
              channels: 2,
              fmtp: { minptime: 10, useinbandfec: 1 },
              feedback: [],
            },
          ],
          extensions: [{ id: 1, uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level" }],
        },
        {
          kind: "audio",
          mid: "s0",
          port: 7,
          proto: "UDP/TLS/RTP/SAVPF",
          direction: "sendonly",
          codecs: [{ payloadType: 111, name: "opus", clockRate: 48000, channels: 2, fmtp: {}, feedback: [] }],
          extensions: [],
          send: { ssrc: 42, cname: "c", stream: "sessA", track: "voice_sessA_abcdefgh" },
        },
        {
          kind: "application",
          mid: "1",
          port: 0,
          proto: "UDP/DTLS/SCTP",
          direction: "inactive",
          codecs: [],
          extensions: [],
          formats: ["webrtc-datachannel"],
        },
      ],
      "127.0.0.1",
    );
    const s = parseSdp(sdp);
    expect(sdp).toContain("a=ice-lite");
    expect(s.bundle).toEqual(["0", "s0"]);
    expect(s.media.map((m) => [m.mid, m.port, m.direction])).toEqual([
      ["0", 7, "recvonly"],
      ["s0", 7, "sendonly"],
      ["1", 0, "inactive"],
    ]);
    expect(s.media[1]!.msid).toEqual({ stream: "sessA", track: "voice_sessA_abcdefgh" });
    expect(s.media[1]!.ssrcs[0]).toMatchObject({ ssrc: 42, cname: "c" });
    expect(transportParams(s)).toMatchObject({ ufrag: "u", setup: "passive" });
  });
});

describe("ICE addresses from rtcd's override keys", () => {
  const locals = ["127.0.0.1", "10.0.0.5"];
  test("defaults: every local IPv4, announced as itself", () => {
    expect(listenAddresses("", "", "", locals)).toEqual([{ ip: "127.0.0.1" }, { ip: "10.0.0.5" }]);
  });
  test("a single host override announces the public address for non-loopback", () => {
    expect(listenAddresses("", "1.2.3.4", "30000", locals)).toEqual([
      { ip: "127.0.0.1" },
      { ip: "10.0.0.5", announcedAddress: "1.2.3.4", announcedPort: 30000 },
    ]);
  });
  test("ext/int and localIP/port lists map per local address", () => {
    expect(listenAddresses("10.0.0.5", "1.2.3.4/10.0.0.5", "10.0.0.5/31000", locals)).toEqual([
      { ip: "10.0.0.5", announcedAddress: "1.2.3.4", announcedPort: 31000 },
    ]);
  });
});

describe("ICE candidates with rtcd's port override", () => {
  const [lo, eth] = listenAddresses("", "1.2.3.4", "30443", ["127.0.0.1", "10.0.0.5"]);
  const sockets = [
    { protocol: "udp", port: 8443, ...lo! },
    { protocol: "udp", port: 8443, ...eth! },
    { protocol: "tcp", port: 8443, ...eth! },
  ];
  // mediasoup announces the port it listens on; the SDP must say the override.
  const transport = {
    iceParameters: { usernameFragment: "u", password: "p" },
    dtlsParameters: { fingerprints: [] },
    iceCandidates: [
      { foundation: "a", priority: 3, address: "127.0.0.1", protocol: "udp", port: 8443 },
      { foundation: "b", priority: 2, address: "1.2.3.4", protocol: "udp", port: 8443 },
      { foundation: "c", priority: 1, address: "1.2.3.4", protocol: "tcp", port: 8443, tcpType: "passive" },
    ],
  } as unknown as ms.WebRtcTransport;
  test("announced addresses get the override port; loopback keeps its own", () => {
    expect(localTransport(transport, "active", announcedPorts(sockets)).candidates).toEqual([
      "a 1 udp 3 127.0.0.1 8443 typ host",
      "b 1 udp 2 1.2.3.4 30443 typ host",
      "c 1 tcp 1 1.2.3.4 30443 typ host tcptype passive",
    ]);
  });
  test("without an override the candidates are mediasoup's", () => {
    expect(localTransport(transport, "active").candidates.map((c) => c.split(" ")[5])).toEqual([
      "8443",
      "8443",
      "8443",
    ]);
  });
});

describe("worker binary", () => {
  test("absent: the error names MEDIASOUP_WORKER_BIN and the cache path", () => {
    let err: unknown;
    try {
      resolveWorkerBin({ MMRTCD_CACHE_DIR: "/nonexistent-cache", HOME: "/nonexistent" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WorkerBinaryMissing);
    expect(String(err)).toContain("MEDIASOUP_WORKER_BIN is not set");
    expect(String(err)).toMatch(/\/nonexistent-cache\/mediasoup-worker-3\.27\.\d+\/mediasoup-worker/);
    expect(String(err)).toContain("build-worker.sh");
  });
  test("MEDIASOUP_WORKER_BIN wins when it is executable", () => {
    expect(resolveWorkerBin({ MEDIASOUP_WORKER_BIN: "/bin/true" })).toBe("/bin/true");
  });
  test("a worker without our patches is refused, saying why", () => {
    // /bin/true stands in for a stock worker: an executable without the marker.
    expect(() => assertPatchedWorker("/bin/true")).toThrow(WorkerBinaryUnpatched);
    expect(() => assertPatchedWorker("/bin/true")).toThrow(
      /browsers might receive no video.*build-worker\.sh/s,
    );
    const dir = mkdtempSync(join(tmpdir(), "worker-"));
    const patched = join(dir, "mediasoup-worker");
    writeFileSync(
      patched,
      Buffer.concat([
        Buffer.alloc(4096, 1),
        ...WORKER_PATCH_MARKERS.map((m) => Buffer.from(m)),
        Buffer.alloc(16),
      ]),
    );
    expect(() => assertPatchedWorker(patched)).not.toThrow();
  });
  test("a worker built before a later patch is refused, naming the patch it lacks", () => {
    // A cached or hand-built worker from before patch 0002: it has the first
    // patch's marker only.
    const dir = mkdtempSync(join(tmpdir(), "worker-"));
    const older = join(dir, "mediasoup-worker");
    writeFileSync(older, Buffer.concat([Buffer.alloc(64, 1), Buffer.from(WORKER_PATCH_MARKERS[0] ?? "")]));
    expect(() => assertPatchedWorker(older)).toThrow(WorkerBinaryUnpatched);
    expect(() => assertPatchedWorker(older)).toThrow(/simulcast-recheck-layers-on-capture-mapping/);
  });
});
