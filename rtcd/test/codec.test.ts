import { decodeMulti, encode } from "@msgpack/msgpack";
import { describe, expect, test } from "vitest";
import { decodeFrame, encodeFrame, FrameError } from "../src/ws/codec.ts";

// Two msgpack values back to back, as rtcd's EncodeMulti writes them.
function frame(...values: unknown[]): Uint8Array {
  const parts = values.map((v) => encode(v));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

describe("decodeFrame", () => {
  test("join keeps the whole map", () => {
    const data = {
      callID: "c",
      userID: "u",
      sessionID: "s",
      channelID: "ch",
      av1Support: true,
      dcSignaling: false,
    };
    expect(decodeFrame(frame("join", data))).toEqual({ type: "join", data });
  });

  test("leave, reconnect, hello and close carry maps; nil data is an empty map", () => {
    expect(decodeFrame(frame("leave", { sessionID: "s" }))).toEqual({
      type: "leave",
      data: { sessionID: "s" },
    });
    expect(decodeFrame(frame("reconnect", null))).toEqual({ type: "reconnect", data: {} });
  });

  test("rtc messages take rtc.Message's keys and types; data may be bin or str", () => {
    const m = decodeFrame(
      frame("rtc", {
        group_id: "g",
        user_id: "u",
        session_id: "s",
        call_id: "c",
        type: 2,
        data: new Uint8Array([123, 125]),
        extra: 1,
      }),
    );
    expect(m).toEqual({
      type: "rtc",
      data: {
        group_id: "g",
        user_id: "u",
        session_id: "s",
        call_id: "c",
        type: 2,
        data: new Uint8Array([123, 125]),
      },
    });
    const s = decodeFrame(frame("rtc", { session_id: "s", type: 1, data: "{}" }));
    expect(s.type === "rtc" && new TextDecoder().decode(s.data.data)).toBe("{}");
  });

  test("an unknown type decodes (rtcd logs it and carries on)", () => {
    expect(decodeFrame(frame("future", [1, 2]))).toEqual({ type: "other", name: "future", data: [1, 2] });
  });

  test("bytes after the data are ignored, as rtcd ignores them", () => {
    const f = frame("leave", { sessionID: "s" });
    const padded = new Uint8Array([...f, 0xc1, 0xc1]);
    expect(decodeFrame(padded)).toEqual({ type: "leave", data: { sessionID: "s" } });
  });

  const malformed: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["reserved byte", new Uint8Array([0xc1])],
    ["type is not a string", frame(1, {})],
    ["type without data", frame("join")],
    ["join data is not a map", frame("join", "x")],
    ["leave data is an array", frame("leave", ["s"])],
    ["rtc type is a string", frame("rtc", { type: "1" })],
    ["rtc data is a number", frame("rtc", { data: 5 })],
    ["rtc session_id is a number", frame("rtc", { session_id: 5 })],
    ["truncated map", new Uint8Array([...encode("join"), 0x81, 0xa1, 0x61])],
    ["huge declared array", new Uint8Array([...encode("x"), 0xdd, 0xff, 0xff, 0xff, 0xff])],
    ["__proto__ key", new Uint8Array([...encode("join"), 0x81, ...encode("__proto__"), 0xc0])],
  ];
  test.for(malformed)("malformed: %s", ([, bytes]) => {
    expect(() => decodeFrame(bytes)).toThrow(FrameError);
  });

  test("a failed decode does not poison the next one", () => {
    expect(() => decodeFrame(frame("join"))).toThrow(FrameError);
    expect(decodeFrame(frame("leave", { sessionID: "s" })).type).toBe("leave");
  });
});

describe("encodeFrame", () => {
  test("type then data, as two values", () => {
    const out = [...decodeMulti(encodeFrame("hello", { clientID: "c", connID: "x" }))];
    expect(out).toEqual(["hello", { clientID: "c", connID: "x" }]);
  });

  test("rtc messages use rtc.Message's keys and omit empty data", () => {
    const base = { group_id: "g", user_id: "u", session_id: "s", call_id: "c", type: 7 };
    expect([...decodeMulti(encodeFrame("vad", { ...base, data: new Uint8Array() }))]).toEqual(["vad", base]);
    const withData = [...decodeMulti(encodeFrame("rtc", { ...base, type: 2, data: new Uint8Array([1]) }))];
    expect(withData[1]).toEqual({ ...base, type: 2, data: new Uint8Array([1]) });
  });

  test("round trip through decodeFrame", () => {
    expect(decodeFrame(encodeFrame("close", { sessionID: "s" }))).toEqual({
      type: "close",
      data: { sessionID: "s" },
    });
  });
});
