// Client credentials: registration, login, and checking the Authorization
// header of a request, with rtcd's rules and error texts (the plugin and
// operators' scripts read them).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { availableParallelism } from "node:os";
import type { CredentialStore } from "../store/sqlite.ts";
import { hashKey, verifyKey } from "../store/hash.ts";
import { RateLimiter } from "./ratelimit.ts";
import { SessionCache } from "./session-cache.ts";

export const MIN_KEY_LEN = 32;
// bitcask's default key size limit in rtcd; also bounds what the store holds.
export const MAX_CLIENT_ID_BYTES = 64;
// bcrypt's input limit in rtcd (longer keys are refused at registration).
export const MAX_KEY_BYTES = 72;
const AUTH_TIMEOUT_MS = 10_000;
// rtcd: 12 per second per CPU (MM-53483).
const AUTH_PER_SECOND_PER_CPU = 12;
const TOKEN_LEN = 32;

export class AuthError extends Error {}

export type Parsed =
  { kind: "basic"; user: string; pass: string } | { kind: "bearer"; token: string } | { kind: "invalid" };

const BASE64_STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// rtcd checks for a case-sensitive "Bearer " first; anything else goes
// through Go's Request.BasicAuth (case-insensitive "Basic ", strict padded
// base64 that ignores CR/LF, split at the first colon).
export function parseAuthorization(header: string | undefined): Parsed {
  const h = header ?? "";
  if (h.startsWith("Bearer ")) return { kind: "bearer", token: h.slice(7) };
  if (h.length < 6 || h.slice(0, 6).toLowerCase() !== "basic ") return { kind: "invalid" };
  const b64 = h.slice(6).replace(/[\r\n]/g, "");
  if (!BASE64_STD.test(b64)) return { kind: "invalid" };
  const decoded = Buffer.from(b64, "base64").toString("latin1");
  const colon = decoded.indexOf(":");
  if (colon < 0) return { kind: "invalid" };
  // Go strings are bytes; keep them so, then read them as UTF-8 like the store does.
  const utf8 = (s: string) => Buffer.from(s, "latin1").toString("utf8");
  return { kind: "basic", user: utf8(decoded.slice(0, colon)), pass: utf8(decoded.slice(colon + 1)) };
}

export type AuthResult =
  { ok: true; clientID: string; admin: boolean } | { ok: false; code: 401; error: string };

export interface AuthOptions {
  enableAdmin: boolean;
  adminSecret: string;
  sessionTTLMinutes: number;
  // Tests only: a different auth rate than rtcd's.
  ratePerSecond?: number;
}

export class AuthService {
  readonly limiter: RateLimiter;
  readonly sessions: SessionCache;
  private readonly adminDigest: Buffer | undefined;
  private readonly store: CredentialStore;

  constructor(store: CredentialStore, opts: AuthOptions) {
    this.store = store;
    this.limiter = new RateLimiter(opts.ratePerSecond ?? AUTH_PER_SECOND_PER_CPU * availableParallelism(), 1);
    this.sessions = new SessionCache(opts.sessionTTLMinutes * 60_000);
    this.adminDigest = opts.enableAdmin && opts.adminSecret !== "" ? digest(opts.adminSecret) : undefined;
  }

  // "" means the admin, who may register and unregister anyone but has no
  // calls of its own.
  async check(header: string | undefined): Promise<AuthResult> {
    const fail = (error: string): AuthResult => ({ ok: false, code: 401, error });
    const parsed = parseAuthorization(header);
    if (parsed.kind === "bearer") {
      const s = this.sessions.get(parsed.token);
      if ("error" in s) return fail(`authentication failed: ${s.error}`);
      return { ok: true, clientID: s.clientID, admin: false };
    }
    if (parsed.kind === "invalid") return fail("authentication failed: invalid auth header");
    if (this.adminDigest && timingSafeEqual(digest(parsed.pass), this.adminDigest))
      return { ok: true, clientID: "", admin: true };
    if (parsed.user === "") return fail("authentication failed: unauthorized");
    try {
      await this.authenticate(parsed.user, parsed.pass);
    } catch {
      return fail("authentication failed");
    }
    return { ok: true, clientID: parsed.user, admin: false };
  }

  async authenticate(id: string, key: string): Promise<void> {
    const hash = this.lookup(id, "authentication failed");
    if (!(await this.limiter.wait(AUTH_TIMEOUT_MS)))
      throw new AuthError("authentication failed: rate: Wait(n=1) would exceed context deadline");
    if (!(await verifyKey(hash, key))) throw new AuthError("authentication failed");
  }

  async register(id: string, key: string): Promise<void> {
    if (Buffer.byteLength(key) < MIN_KEY_LEN) throw new AuthError("registration failed: key not long enough");
    if (id === "") throw new AuthError("registration failed: error: empty key");
    if (this.store.get(id) !== undefined) throw new AuthError("registration failed: already registered");
    if (!(await this.limiter.wait(AUTH_TIMEOUT_MS)))
      throw new AuthError("registration failed: rate: Wait(n=1) would exceed context deadline");
    if (Buffer.byteLength(key) > MAX_KEY_BYTES)
      throw new AuthError(`registration failed: key longer than ${MAX_KEY_BYTES} bytes`);
    const hash = await hashKey(key);
    if (Buffer.byteLength(id) > MAX_CLIENT_ID_BYTES)
      throw new AuthError("registration failed: failed to set key: error: key too large");
    if (!this.store.put(id, hash)) throw new AuthError("registration failed: already registered");
  }

  unregister(id: string): void {
    this.lookup(id, "unregister failed");
    this.store.delete(id);
    // Like rtcd: a removed client's bearer token stops working at once.
    this.sessions.delete(id);
  }

  async login(id: string, key: string): Promise<string> {
    try {
      await this.authenticate(id, key);
    } catch (err) {
      throw new AuthError(`login failed: ${(err as Error).message}`);
    }
    const token = randomToken();
    this.sessions.put(id, token);
    return token;
  }

  private lookup(id: string, prefix: string): string {
    if (id === "") throw new AuthError(`${prefix}: error: empty key`);
    const hash = this.store.get(id);
    if (hash === undefined) throw new AuthError(`${prefix}: error: not found`);
    return hash;
  }
}

// rtcd's token: 32 characters of unpadded base64url.
function randomToken(): string {
  return randomBytes(1 + Math.floor((TOKEN_LEN * 4) / 3))
    .toString("base64url")
    .slice(0, TOKEN_LEN);
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
