// The WebSocket framing rtcd and the plugin speak: each binary frame holds
// two msgpack values back to back, the message type (a string) and its data.
// Decoding follows rtcd's ClientMessage.DecodeMsgpack: what it fails to
// unpack is a FrameError here (and costs the sender its connection).
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { RTCMessage } from "../calls/media.ts";

export const MAX_FRAME_BYTES = 1024 * 1024;

export const KNOWN_TYPES = ["join", "leave", "rtc", "hello", "reconnect", "close", "vad"] as const;
export type KnownType = (typeof KNOWN_TYPES)[number];

export type ClientMessage =
  | { type: "join"; data: Record<string, unknown> }
  | { type: "leave" | "hello" | "reconnect" | "close"; data: Record<string, unknown> }
  | { type: "rtc" | "vad"; data: RTCMessage }
  | { type: "other"; name: string; data: unknown };

export class FrameError extends Error {}

// No declared length can exceed the frame itself; the limits stop a tiny
// frame from claiming a huge container.
const decoder = new Decoder({
  maxStrLength: MAX_FRAME_BYTES,
  maxBinLength: MAX_FRAME_BYTES,
  maxArrayLength: MAX_FRAME_BYTES,
  maxMapLength: MAX_FRAME_BYTES,
  maxExtLength: MAX_FRAME_BYTES,
});
const encoder = new Encoder({ ignoreUndefined: true });

export function decodeFrame(frame: Uint8Array): ClientMessage {
  let type: unknown;
  let data: unknown;
  const it = decoder.decodeMulti(frame);
  try {
    const first = it.next();
    if (first.done) throw new FrameError("empty frame");
    type = first.value;
    if (typeof type !== "string") throw new FrameError("failed to decode msg.Type: not a string");
    const second = it.next();
    // Bytes after the data are ignored, as rtcd ignores them.
    if (second.done) throw new FrameError(`failed to decode msg.Data: missing`);
    data = second.value;
  } catch (err) {
    if (err instanceof FrameError) throw err;
    throw new FrameError(`failed to decode frame: ${(err as Error).message}`);
  } finally {
    // Ends the generator: the decoder refuses re-entry until it finishes.
    it.return(undefined);
  }

  switch (type) {
    case "join":
    case "leave":
    case "hello":
    case "reconnect":
    case "close":
      // rtcd: DecodeMap / DecodeTypedMap, which accept nil.
      if (data === null) return { type, data: {} };
      if (!isMap(data)) throw new FrameError(`failed to decode msg.Data: ${type} data is not a map`);
      return { type, data };
    case "rtc":
    case "vad":
      return { type, data: toRTCMessage(data) };
    default:
      return { type: "other", name: type, data };
  }
}

// rtc.Message's msgpack decoding: known keys take their types, unknown keys
// are skipped, nil leaves the zero value.
function toRTCMessage(v: unknown): RTCMessage {
  const m: RTCMessage = {
    group_id: "",
    user_id: "",
    session_id: "",
    call_id: "",
    type: 0,
    data: new Uint8Array(),
  };
  if (v === null) return m;
  if (!isMap(v)) throw new FrameError("failed to decode rtc.Message: not a map");
  for (const k of ["group_id", "user_id", "session_id", "call_id"] as const) {
    const x = v[k];
    if (x === undefined || x === null) continue;
    if (typeof x !== "string") throw new FrameError(`failed to decode rtc.Message: ${k} is not a string`);
    m[k] = x;
  }
  const t = v["type"];
  if (t !== undefined && t !== null) {
    if (typeof t !== "number" || !Number.isSafeInteger(t))
      throw new FrameError("failed to decode rtc.Message: type is not an integer");
    m.type = t;
  }
  const d = v["data"];
  if (d instanceof Uint8Array) m.data = d;
  else if (typeof d === "string") m.data = new TextEncoder().encode(d);
  else if (d !== undefined && d !== null)
    throw new FrameError("failed to decode rtc.Message: data is not bytes");
  return m;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date)
  );
}

// rtcd's encoding: type then data; rtc messages as maps with their msgpack
// keys, `data` omitted when empty.
export function encodeFrame(type: string, data: unknown): Uint8Array {
  let body = data;
  if ((type === "rtc" || type === "vad") && isMap(data)) {
    const { data: payload, ...rest } = data as unknown as RTCMessage;
    body = payload && payload.byteLength > 0 ? { ...rest, data: payload } : rest;
  }
  const a = encoder.encode(type);
  const b = encoder.encode(body);
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
