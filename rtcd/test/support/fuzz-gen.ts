// Frame and request generators for the fuzz test. Frames come with what the
// server must do with them: "stay" (well-formed: the connection lives on),
// "close" (malformed: the connection is closed with a protocol close code)
// or "either" (random or mutated bytes: whichever, but never a crash, a
// hang or an abrupt drop). The stay/close rules restate rtcd's decoding
// (service/client_msg.go) independently of our codec.
import { encode } from "@msgpack/msgpack";

export type Expect = "stay" | "close" | "either";
export interface Frame {
  bytes: Uint8Array;
  text?: boolean;
  expect: Expect;
  kind: string;
}

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  // xorshift32: reproducible from the seed printed on failure.
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 0x100000000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  // Printable ASCII: what an HTTP header value may hold.
  ascii(max: number): string {
    let s = "";
    for (let i = this.int(max + 1); i > 0; i--) s += String.fromCharCode(32 + this.int(95));
    return s;
  }
  string(max: number): string {
    const len = this.int(max + 1);
    let s = "";
    for (let i = 0; i < len; i++) {
      const r = this.next();
      s +=
        r < 0.7
          ? String.fromCharCode(97 + this.int(26))
          : r < 0.9
            ? String.fromCharCode(this.int(0x80))
            : String.fromCodePoint(this.int(0xd7ff));
    }
    return s;
  }
}

const KNOWN = ["join", "leave", "reconnect", "rtc", "vad", "hello", "close"] as const;

// A small pool of IDs, so joins, leaves and reconnects meet each other.
const pool = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const CALLS = pool("call", 20);
const SESSIONS = pool("session", 200);

export function randomValue(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 2 ? 8 : 10);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.int(256) - 128;
    case 3:
      return r.pick([0, -1, 2 ** 31, 2 ** 32 + 5, -(2 ** 40), Number.MAX_SAFE_INTEGER, 1.5, -0.25, 1e300]);
    case 4:
    case 5:
      return r.string(r.chance(0.05) ? 2000 : 30);
    case 6:
    case 7:
      return r.bytes(r.int(r.chance(0.05) ? 4000 : 40));
    case 8:
      return Array.from({ length: r.int(5) }, () => randomValue(r, depth + 1));
    default: {
      const m: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) m[r.string(8) || "k"] = randomValue(r, depth + 1);
      return m;
    }
  }
}

function frame(type: unknown, data: unknown): Uint8Array {
  const a = encode(type);
  const b = encode(data);
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

const isMap = (v: unknown) =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

// What rtcd's decoder accepts for each message type's data.
function expectFor(type: string, data: unknown): Expect {
  if (!(KNOWN as readonly string[]).includes(type)) return "stay";
  if (data === null) return "stay";
  if (!isMap(data)) return "close";
  if (type !== "rtc" && type !== "vad") return "stay";
  const m = data as Record<string, unknown>;
  for (const k of ["group_id", "user_id", "session_id", "call_id"])
    if (m[k] !== undefined && m[k] !== null && typeof m[k] !== "string") return "close";
  const t = m["type"];
  if (t !== undefined && t !== null) {
    if (typeof t !== "number") return "close";
    // Floats and unsafe integers: decoders differ; either outcome is fine.
    if (!Number.isSafeInteger(t)) return "either";
  }
  const d = m["data"];
  if (d !== undefined && d !== null && !(d instanceof Uint8Array) && typeof d !== "string") return "close";
  return "stay";
}

function messageData(r: Rng, type: string): unknown {
  if (r.chance(0.15)) return randomValue(r);
  const maybe = (v: unknown) => (r.chance(0.9) ? v : randomValue(r));
  switch (type) {
    case "join":
      return {
        callID: maybe(r.pick(CALLS)),
        userID: maybe(r.string(26)),
        sessionID: maybe(r.pick(SESSIONS)),
        channelID: maybe(r.string(26)),
        av1Support: maybe(r.chance(0.5)),
        dcSignaling: maybe(r.chance(0.5)),
        ...(r.chance(0.1) ? { [r.string(6)]: randomValue(r) } : {}),
      };
    case "leave":
    case "reconnect":
    case "hello":
    case "close":
      return { sessionID: maybe(r.pick(SESSIONS)) };
    case "rtc":
    case "vad":
      return {
        group_id: maybe(r.string(10)),
        user_id: maybe(r.string(10)),
        session_id: maybe(r.pick(SESSIONS)),
        call_id: maybe(r.pick(CALLS)),
        type: maybe(1 + r.int(11)),
        data: maybe(
          r.chance(0.5) ? new TextEncoder().encode('{"type":"offer","sdp":"v=0"}') : r.bytes(r.int(64)),
        ),
      };
    default:
      return randomValue(r);
  }
}

export function structured(r: Rng): Frame {
  const type = r.chance(0.75) ? r.pick(KNOWN) : r.chance(0.9) ? r.string(20) : r.string(1000);
  const data = messageData(r, type);
  return { bytes: frame(type, data), expect: expectFor(type, data), kind: "structured" };
}

export function mutated(r: Rng): Frame {
  let b = [...structured(r).bytes];
  for (let n = 1 + r.int(4); n > 0; n--) {
    const at = r.int(b.length + 1);
    switch (r.int(6)) {
      case 0:
        if (b.length) b[at % b.length]! ^= 1 << r.int(8);
        break;
      case 1:
        if (b.length) b[at % b.length] = r.int(256);
        break;
      case 2:
        b = b.slice(0, at);
        break;
      case 3:
        b.splice(at, 0, ...r.bytes(1 + r.int(8)));
        break;
      case 4:
        b.splice(at, 0, ...b.slice(r.int(b.length + 1), r.int(b.length + 1)));
        break;
      default:
        b.splice(at, 1 + r.int(8));
    }
  }
  return { bytes: new Uint8Array(b), expect: "either", kind: "mutated" };
}

export function randomBytes(r: Rng): Frame {
  if (r.chance(0.1)) return { bytes: new Uint8Array(), expect: "close", kind: "empty" };
  if (r.chance(0.2))
    return { bytes: new Uint8Array([0xc1, ...r.bytes(r.int(16))]), expect: "close", kind: "reserved" };
  return { bytes: r.bytes(1 + r.int(r.chance(0.02) ? 60_000 : 100)), expect: "either", kind: "random" };
}

export function textFrame(r: Rng): Frame {
  return { bytes: new TextEncoder().encode(r.string(50)), text: true, expect: "close", kind: "text" };
}

export function oversized(): Frame {
  return { bytes: new Uint8Array(1024 * 1024 + 1), expect: "close", kind: "oversized" };
}

export function nextFrame(r: Rng, i: number): Frame {
  if (i % 4999 === 4998) return oversized();
  const x = r.next();
  if (x < 0.74) return structured(r);
  if (x < 0.92) return mutated(r);
  if (x < 0.99) return randomBytes(r);
  return textFrame(r);
}
