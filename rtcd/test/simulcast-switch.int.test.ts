// mediasoup's simulcast layer switch for a viewer without a bandwidth
// estimate (a transport without transport-cc, as the werift viewer of
// simulcast.int.test.ts), driven packet by packet through DirectTransports,
// against the worker rtcd runs (our patches, rtcd/worker-build/patches).
//
// The order that left such a viewer at l for good (a busy sharer starting
// its h layer late): the viewer prefers h before h exists; h starts and its
// score settles; only then does h's first Sender Report arrive. mediasoup may
// only switch to h once h's capture instant is known, which is at h's first
// packet after that report, not at the report itself: the worker has to look
// at the layers again after it (patch 0002), since for this viewer nothing
// else (no estimate, no score change) makes it look.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { types as ms } from "mediasoup";
import { createPatchedWorker } from "./support/patched-worker.ts";
import { until } from "./support/wait.ts";

const SSRC = { l: 1111, h: 2222 };
const CLOCK = 90_000;
const FRAME_MS = 33;

// A VP8 key frame (payload descriptor S=1 PID=0, then the key frame header).
const KEY_FRAME = Buffer.from([0x10, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 1, 2, 3]);

function rtp(ssrc: number, seq: number, ts: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x80;
  b[1] = 0x80 | 96; // marker, VP8
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  return Buffer.concat([b, KEY_FRAME]);
}

// An RTCP Sender Report for `ssrc`: wall clock `atMs` is RTP timestamp `ts`.
function senderReport(ssrc: number, atMs: number, ts: number): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc, 4);
  const ntpMs = atMs + 2_208_988_800_000; // NTP counts from 1900
  b.writeUInt32BE(Math.floor(ntpMs / 1000) >>> 0, 8);
  b.writeUInt32BE(Math.floor(((ntpMs % 1000) / 1000) * 2 ** 32) >>> 0, 12);
  b.writeUInt32BE(ts >>> 0, 16);
  return b;
}

// What a viewer without a bandwidth estimate takes, as the werift viewer
// offers: no transport-cc, REMB or abs-send-time, so its consumer's layers are
// not managed by a transport BWE (which would check them again on its own).
function withoutBwe(caps: ms.RtpCapabilities): ms.RtpCapabilities {
  const bwe = /transport-cc|remb|abs-send-time|transport-wide/i;
  return {
    codecs: (caps.codecs ?? []).map((c) => ({
      ...c,
      rtcpFeedback: (c.rtcpFeedback ?? []).filter((f) => !bwe.test(f.type)),
    })),
    headerExtensions: (caps.headerExtensions ?? []).filter((h) => !bwe.test(h.uri)),
  };
}

// A sender of two simulcast streams sharing one capture clock, as a browser
// is: each sends a key frame per frame while on, and a Sender Report when
// told.
class Sharer {
  private readonly on = new Set<number>();
  private readonly seq = new Map<number, number>();
  private readonly base = new Map<number, number>([
    [SSRC.l, 1000],
    [SSRC.h, 500_000],
  ]);
  private readonly t0 = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly producer: ms.Producer;
  private readonly transport: ms.DirectTransport;

  constructor(producer: ms.Producer, transport: ms.DirectTransport) {
    this.producer = producer;
    this.transport = transport;
  }

  private ts(ssrc: number, atMs: number): number {
    return this.base.get(ssrc)! + Math.round(((atMs - this.t0) * CLOCK) / 1000);
  }

  start(ssrc: number): void {
    this.on.add(ssrc);
    this.timer ??= setInterval(() => {
      const now = Date.now();
      for (const s of this.on) {
        const n = (this.seq.get(s) ?? 0) + 1;
        this.seq.set(s, n);
        this.producer.send(rtp(s, n, this.ts(s, now)));
      }
    }, FRAME_MS);
  }

  // Sender Reports sent, per SSRC.
  readonly reports = new Map<number, number>();

  report(ssrc: number): void {
    this.reports.set(ssrc, (this.reports.get(ssrc) ?? 0) + 1);
    const now = Date.now();
    this.transport.sendRtcp(senderReport(ssrc, now, this.ts(ssrc, now)));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

describe("simulcast layer switch without a bandwidth estimate", () => {
  let worker: ms.Worker;

  beforeAll(async () => {
    worker = await createPatchedWorker();
  });

  afterAll(() => worker?.close());

  test("a viewer preferring h gets h once h's capture instant is known, however late h's first Sender Report comes", async () => {
    const router = await worker.createRouter({
      mediaCodecs: [{ kind: "video", mimeType: "video/VP8", clockRate: CLOCK }],
    });
    const send = await router.createDirectTransport();
    const recv = await router.createDirectTransport();
    const producer = await send.produce({
      kind: "video",
      rtpParameters: {
        codecs: [
          {
            mimeType: "video/VP8",
            payloadType: 96,
            clockRate: CLOCK,
            rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
          },
        ],
        encodings: [{ ssrc: SSRC.l }, { ssrc: SSRC.h }],
        rtcp: { cname: "sharer" },
      },
    });
    const sharer = new Sharer(producer, send);
    let reports: NodeJS.Timeout | undefined;
    try {
      const consumer = await recv.consume({
        producerId: producer.id,
        rtpCapabilities: withoutBwe(router.rtpCapabilities),
        preferredLayers: { spatialLayer: 0 },
      });
      expect(consumer.type).toBe("simulcast");
      const state = async () => JSON.stringify({ score: consumer.score, dump: await consumer.dump() });

      // l flows, then its Sender Reports, once a second as a browser sends
      // them: the viewer gets l.
      sharer.start(SSRC.l);
      await until("l at the viewer", () => consumer.currentLayers?.spatialLayer === 0, 10_000, state);
      const reported = new Set([SSRC.l]);
      reports = setInterval(() => reported.forEach((ssrc) => sharer.report(ssrc)), 1000);

      // The viewer may have h before the sharer sends it.
      await consumer.setPreferredLayers({ spatialLayer: 1 });

      // h starts, and the scores of both streams settle, before h's first
      // Sender Report; by then l's capture instant is long known (mediasoup
      // tells the sender's clock after 3 Sender Reports, then l's at its next
      // packet).
      sharer.start(SSRC.h);
      let last = "";
      let stableSince = Date.now();
      await until(
        "5 Sender Reports of l, both streams scored, and their scores unchanged for 3 s",
        () => {
          const now = JSON.stringify(consumer.score.producerScores);
          if (now !== last) [last, stableSince] = [now, Date.now()];
          return (
            (sharer.reports.get(SSRC.l) ?? 0) >= 5 &&
            consumer.score.producerScores.every((s) => s > 0) &&
            Date.now() - stableSince > 3000
          );
        },
        20_000,
        state,
      );
      expect(consumer.currentLayers?.spatialLayer).toBe(0);

      // Now h's first Sender Report, and h's too from then on.
      sharer.report(SSRC.h);
      reported.add(SSRC.h);
      await until("h at the viewer", () => consumer.currentLayers?.spatialLayer === 1, 5000, state);
    } finally {
      clearInterval(reports);
      sharer.stop();
      router.close();
    }
  });
});
