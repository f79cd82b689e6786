// Auth keys are stored only as slow salted hashes (rtcd uses bcrypt; we use
// scrypt from node:crypto, so no native dependency). The parameters travel
// with each hash, so they can be raised later without breaking old entries.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

const PARAMS = { N: 1 << 14, r: 8, p: 1 } as const;
const KEY_LEN = 32;
const SALT_LEN = 16;
// Refuse hashes claiming absurd costs (a tampered store must not hang us).
const MAX_N = 1 << 20;

function derive(key: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  const maxmem = 256 * (opts.N ?? PARAMS.N) * (opts.r ?? PARAMS.r) + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(key, salt, KEY_LEN, { ...opts, maxmem }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

export async function hashKey(key: string): Promise<string> {
  if (key === "") throw new Error("invalid empty key");
  const salt = randomBytes(SALT_LEN);
  const out = await derive(key, salt, PARAMS);
  return ["scrypt", PARAMS.N, PARAMS.r, PARAMS.p, salt.toString("base64"), out.toString("base64")].join("$");
}

export async function verifyKey(stored: string, key: string): Promise<boolean> {
  if (key === "") return false;
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > MAX_N || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, "base64");
  const want = Buffer.from(parts[5]!, "base64");
  if (want.length !== KEY_LEN) return false;
  const got = await derive(key, salt, { N, r, p });
  return timingSafeEqual(got, want);
}
