// The calls-dc message codec and DCEP parsing, against raw bytes: what the
// Calls client sends (msgpack fixints) and what rtcd v1.2.6 sends (Go's
// msgpack writes the type as uint8, 0xcc N).
import { deflateSync } from "node:zlib";
import { encode } from "@msgpack/msgpack";
import { describe, expect, test } from "vitest";
import {
  DCEP_ACK_MESSAGE,
  DCMessageError,
  DCType,
  dcepOpenMessage,
  decodeDCFrame,
  decodeDCMessage,
  encodeDCMessage,
  inflateSDP,
  MAX_DC_MESSAGE_BYTES,
  parseDcepOpen,
} from "../src/media/dc-msg.ts";

describe("calls-dc messages", () => {
  test("payload-less types are one byte; rtcd's uint8 form decodes too", () => {
    expect([...encodeDCMessage({ type: DCType.Pong })]).toEqual([0x02]);
    expect(decodeDCMessage(Buffer.from([0x01]))).toEqual({ type: DCType.Ping });
    expect(decodeDCMessage(Buffer.from([0xcc, 0x02]))).toEqual({ type: DCType.Pong });
    expect(decodeDCMessage(Buffer.from([0x08]))).toEqual({ type: DCType.Unlock });
  });

  test("lock: a request without payload, a reply with a bool", () => {
    expect(decodeDCMessage(Buffer.from([0x07]))).toEqual({ type: DCType.Lock });
    expect([...encodeDCMessage({ type: DCType.Lock, granted: true })]).toEqual([0x07, 0xc3]);
    expect([...encodeDCMessage({ type: DCType.Lock, granted: false })]).toEqual([0x07, 0xc2]);
  });

  test("SDP: zlib-compressed JSON as msgpack bin, both ways", () => {
    const desc = { type: "offer", sdp: "v=0\r\n" };
    const fromClient = Buffer.concat([encode(3), encode(deflateSync(Buffer.from(JSON.stringify(desc))))]);
    expect(decodeDCMessage(fromClient)).toEqual({ type: DCType.SDP, sdp: desc });
    const ours = encodeDCMessage({ type: DCType.SDP, sdp: desc });
    expect(ours[0]).toBe(0x03);
    expect(ours[1]).toBeGreaterThanOrEqual(0xc4); // bin 8/16/32
    expect(ours[1]).toBeLessThanOrEqual(0xc6);
    expect(decodeDCMessage(ours)).toEqual({ type: DCType.SDP, sdp: desc });
  });

  test("statistics and MediaMap", () => {
    expect(decodeDCMessage(Buffer.concat([encode(4), encode(0.25)]))).toEqual({
      type: DCType.LossRate,
      value: 0.25,
    });
    const map = { "2": { type: "voice" as const, sender_id: "s1" } };
    expect(decodeDCMessage(encodeDCMessage({ type: DCType.MediaMap, map }))).toEqual({
      type: DCType.MediaMap,
      map,
    });
  });

  test("bad messages are errors, not crashes", () => {
    const bad = [
      Buffer.alloc(0),
      Buffer.from([0xc1]),
      Buffer.from([99]),
      Buffer.concat([encode(3), encode("not bin")]),
      Buffer.concat([encode(3), encode(Buffer.from("not zlib"))]),
      Buffer.concat([encode(3), encode(deflateSync(Buffer.from("not json")))]),
      // A zlib bomb: 64 MB of zeros in a few kB.
      Buffer.concat([encode(3), encode(deflateSync(Buffer.alloc(64 << 20)))]),
      Buffer.concat([encode(5), encode("fast")]),
      Buffer.concat([encode(9), encode(7)]),
    ];
    for (const b of bad) expect(() => decodeDCMessage(b)).toThrow(DCMessageError);
  });
});

describe("DCEP", () => {
  test("DATA_CHANNEL_OPEN parses; the ACK is one byte", () => {
    expect(parseDcepOpen(dcepOpenMessage("calls-dc"))).toEqual({
      channelType: 0,
      priority: 256,
      reliability: 0,
      label: "calls-dc",
      protocol: "",
    });
    expect([...DCEP_ACK_MESSAGE]).toEqual([0x02]);
  });

  test("truncated or foreign messages are not an OPEN", () => {
    const open = dcepOpenMessage("calls-dc", "proto");
    expect(parseDcepOpen(open.subarray(0, open.length - 1))).toBeUndefined();
    expect(parseDcepOpen(Buffer.from([0x02]))).toBeUndefined();
    expect(parseDcepOpen(Buffer.alloc(0))).toBeUndefined();
    expect(parseDcepOpen(open)?.protocol).toBe("proto");
  });
});

describe("hostile calls-dc messages", () => {
  test("a few bytes claiming a container larger than any message are refused, as on the WebSocket", () => {
    // An SDP message whose payload claims an array of MAX+1 elements, and
    // a map, a str and a bin of that size.
    const n = MAX_DC_MESSAGE_BYTES + 1;
    const claim = (tag: number) => {
      const b = Buffer.alloc(6);
      b[0] = DCType.SDP;
      b[1] = tag;
      b.writeUInt32BE(n, 2);
      return b;
    };
    for (const tag of [0xdd, 0xdf, 0xdb, 0xc6])
      expect(() => decodeDCFrame(claim(tag)), `tag 0x${tag.toString(16)}`).toThrow(/max|exceed/i);
    expect(() => decodeDCMessage(claim(0xdd))).toThrow(DCMessageError);
  });

  test("an SDP payload is inflated off the event loop, and no further than 256 KB", async () => {
    const desc = { type: "offer", sdp: "v=0\r\n" };
    const f = decodeDCFrame(encodeDCMessage({ type: DCType.SDP, sdp: desc }));
    expect(f.type).toBe(DCType.SDP);
    if (f.type !== DCType.SDP) return;
    expect(f.payload).toBeInstanceOf(Uint8Array);
    expect(await inflateSDP(f.payload)).toEqual(desc);
    // 1 MB of JSON in about a kilobyte.
    const bomb = deflateSync(Buffer.from(JSON.stringify({ sdp: "a".repeat(1024 * 1024) })));
    expect(bomb.length).toBeLessThan(4096);
    await expect(inflateSDP(bomb)).rejects.toThrow(DCMessageError);
  });
});
