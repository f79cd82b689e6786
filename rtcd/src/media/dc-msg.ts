// The messages the Calls client and rtcd exchange on the `calls-dc` data
// channel, and the DCEP (RFC 8832) control messages that open it.
//
// A calls-dc message is flat msgpack: the message type (an integer), then,
// for the types that have one, the payload as a second msgpack value right
// after it (no surrounding array). SDP payloads are the JSON of an
// RTCSessionDescription, zlib-compressed, as msgpack bin. Older clients
// (calls-common 0.27.x) send the plain strings "ping"/"pong" instead.
import { promisify } from "node:util";
import { deflateSync, inflate, inflateSync } from "node:zlib";
import { Decoder, encode } from "@msgpack/msgpack";

const inflateAsync = promisify(inflate);

export const DCType = {
  Ping: 1,
  Pong: 2,
  SDP: 3,
  LossRate: 4,
  RoundTripTime: 5,
  Jitter: 6,
  Lock: 7,
  Unlock: 8,
  MediaMap: 9,
} as const;

export type TrackType = "voice" | "screen" | "screen-audio" | "video";
export type MediaMap = Record<string, { type: TrackType; sender_id: string }>;

export type DCMessage =
  | { type: typeof DCType.Ping | typeof DCType.Pong | typeof DCType.Unlock }
  | { type: typeof DCType.SDP; sdp: unknown }
  | { type: typeof DCType.LossRate | typeof DCType.RoundTripTime | typeof DCType.Jitter; value: number }
  // A client's lock request has no payload; our reply says whether it got it.
  | { type: typeof DCType.Lock; granted?: boolean }
  | { type: typeof DCType.MediaMap; map: MediaMap };

export class DCMessageError extends Error {}

// Inflating a hostile payload must not exhaust memory: SDP is small.
const MAX_SDP_JSON = 256 * 1024;

// mediasoup's largest SCTP message (maxSctpMessageSize, 262144 by default):
// no declared length in a message can exceed it. As the WebSocket decoder
// (ws/codec.ts), these limits stop a tiny message from claiming a huge
// string, bin, array or map.
export const MAX_DC_MESSAGE_BYTES = 256 * 1024;
const decoder = new Decoder({
  maxStrLength: MAX_DC_MESSAGE_BYTES,
  maxBinLength: MAX_DC_MESSAGE_BYTES,
  maxArrayLength: MAX_DC_MESSAGE_BYTES,
  maxMapLength: MAX_DC_MESSAGE_BYTES,
  maxExtLength: MAX_DC_MESSAGE_BYTES,
});

// A decoded message whose SDP payload is still compressed: rtcd inflates it
// off the event loop (inflateSDP), so that a small message cannot make the
// main thread inflate 256 KB.
export type DCFrame =
  Exclude<DCMessage, { type: typeof DCType.SDP }> | { type: typeof DCType.SDP; payload: Uint8Array };

export function encodeDCMessage(msg: DCMessage): Buffer {
  const parts: Uint8Array[] = [encode(msg.type)];
  switch (msg.type) {
    case DCType.SDP:
      parts.push(encode(deflateSync(Buffer.from(JSON.stringify(msg.sdp)))));
      break;
    case DCType.LossRate:
    case DCType.RoundTripTime:
    case DCType.Jitter:
      parts.push(encode(msg.value));
      break;
    case DCType.Lock:
      if (msg.granted !== undefined) parts.push(encode(msg.granted));
      break;
    case DCType.MediaMap:
      parts.push(encode(msg.map));
      break;
  }
  return Buffer.concat(parts);
}

// The whole message, its SDP inflated here (synchronously: for clients and
// tests; rtcd itself uses decodeDCFrame and inflateSDP).
export function decodeDCMessage(data: Uint8Array): DCMessage {
  const f = decodeDCFrame(data);
  if (f.type !== DCType.SDP) return f;
  let json: string;
  try {
    json = inflateSync(f.payload, { maxOutputLength: MAX_SDP_JSON }).toString("utf8");
  } catch {
    throw new DCMessageError("SDP payload is not zlib data (or too large)");
  }
  return { type: f.type, sdp: parseSDPJSON(json) };
}

// An SDP message's payload, inflated on libuv's thread pool, at most
// MAX_SDP_JSON bytes of JSON.
export async function inflateSDP(payload: Uint8Array): Promise<unknown> {
  let json: string;
  try {
    json = (await inflateAsync(payload, { maxOutputLength: MAX_SDP_JSON })).toString("utf8");
  } catch {
    throw new DCMessageError("SDP payload is not zlib data (or too large)");
  }
  return parseSDPJSON(json);
}

function parseSDPJSON(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new DCMessageError("SDP payload is not JSON");
  }
}

export function decodeDCFrame(data: Uint8Array): DCFrame {
  let type: unknown;
  let payload: unknown;
  let n = 0;
  const it = decoder.decodeMulti(data);
  try {
    for (let r = it.next(); !r.done; r = it.next()) {
      if (n === 0) type = r.value;
      else payload = r.value;
      if (++n === 2) break;
    }
  } catch (err) {
    throw new DCMessageError(`undecodable message: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    // Ends the generator: the shared decoder refuses re-entry until it does.
    it.return(undefined);
  }
  switch (type) {
    case DCType.Ping:
    case DCType.Pong:
    case DCType.Unlock:
      return { type };
    case DCType.SDP: {
      if (!(payload instanceof Uint8Array)) throw new DCMessageError("SDP message without a bin payload");
      return { type, payload };
    }
    case DCType.LossRate:
    case DCType.RoundTripTime:
    case DCType.Jitter:
      if (typeof payload !== "number" || !Number.isFinite(payload))
        throw new DCMessageError(`message ${type} without a number`);
      return { type, value: payload };
    case DCType.Lock:
      return typeof payload === "boolean" ? { type, granted: payload } : { type };
    case DCType.MediaMap:
      if (typeof payload !== "object" || payload === null) throw new DCMessageError("MediaMap without a map");
      return { type, map: payload as MediaMap };
    default:
      throw new DCMessageError(`unexpected message type ${String(type)}`);
  }
}

// ---- DCEP (RFC 8832) ----

// SCTP payload protocol identifiers (RFC 8831 section 8).
export const PPID = {
  DCEP: 50,
  String: 51,
  Binary: 53,
  StringEmpty: 56,
  BinaryEmpty: 57,
} as const;

const DCEP_OPEN = 0x03;
const DCEP_ACK = 0x02;

export interface DcepOpen {
  channelType: number;
  priority: number;
  reliability: number;
  label: string;
  protocol: string;
}

// DATA_CHANNEL_OPEN: type, channel type, priority(2), reliability(4),
// label length(2), protocol length(2), label, protocol.
export function parseDcepOpen(b: Buffer): DcepOpen | undefined {
  if (b.length < 12 || b[0] !== DCEP_OPEN) return undefined;
  const labelLen = b.readUInt16BE(8);
  const protoLen = b.readUInt16BE(10);
  if (b.length < 12 + labelLen + protoLen) return undefined;
  return {
    channelType: b[1]!,
    priority: b.readUInt16BE(2),
    reliability: b.readUInt32BE(4),
    label: b.subarray(12, 12 + labelLen).toString("utf8"),
    protocol: b.subarray(12 + labelLen, 12 + labelLen + protoLen).toString("utf8"),
  };
}

export function isDcepAck(b: Buffer): boolean {
  return b.length >= 1 && b[0] === DCEP_ACK;
}

export const DCEP_ACK_MESSAGE = Buffer.from([DCEP_ACK]);

export function dcepOpenMessage(label: string, protocol = ""): Buffer {
  const l = Buffer.from(label);
  const p = Buffer.from(protocol);
  const head = Buffer.alloc(12);
  head[0] = DCEP_OPEN;
  head[1] = 0x00; // reliable, ordered
  head.writeUInt16BE(256, 2);
  head.writeUInt32BE(0, 4);
  head.writeUInt16BE(l.length, 8);
  head.writeUInt16BE(p.length, 10);
  return Buffer.concat([head, l, p]);
}
