// Client credentials: registration, login, and checking the Authorization
// header of a request, with rtcd's rules and error texts (the plugin and
// operators' scripts read them).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { CredentialStore } from "../store/sqlite.ts";
import { hashKey, verifyKey } from "../store/hash.ts";
import { Busy, Semaphore, SourceBuckets } from "./auth-guard.ts";
import { RateLimiter } from "./ratelimit.ts";
import { SessionCache } from "./session-cache.ts";

export const MIN_KEY_LEN = 32;
// bitcask's default key size limit in rtcd; also bounds what the store holds.
export const MAX_CLIENT_ID_BYTES = 64;
// bcrypt's input limit in rtcd (longer keys are refused at registration).
export const MAX_KEY_BYTES = 72;
const AUTH_TIMEOUT_MS = 10_000;
// rtcd: 12 per second per CPU (MM-53483); for us, per CPU of our budget
// (the cgroup quota), not of the host.
const AUTH_PER_SECOND_PER_CPU = 12;
// One source address gets half the global rate, so a flood from one
// address leaves the other half to everyone else, and a burst of 10 (a
// Mattermost server's plugin logging in after a restart needs a few).
const SOURCE_SHARE = 0.5;
const SOURCE_BURST = 10;
// Key checks one address may have under way at once (beyond: 429; a
// Mattermost server's plugin logs in on several connections at once, and
// servers behind one NAT share an address), and its failed ones:
// SOURCE_FAILURE_BURST free (a mistyped key, a client retrying with an old
// one), then each waits for one to come back, one per
// SOURCE_FAILURE_PENALTY_S (up to AUTH_TIMEOUT_MS, then 429). A flood from one address
// then costs the hash threads a few checks and one every 2 s after, so
// other callers' checks are not slowed by more than that on a 2-CPU host,
// and a client that got its key wrong a few times is not held back at all.
// Like rtcd's limiter, these delay rather than refuse while the wait is
// bounded: rtcd's own contract (a burst of logins is slowed, not refused).
const SOURCE_IN_FLIGHT = 4;
const SOURCE_FAILURE_PENALTY_S = 2;
const SOURCE_FAILURE_BURST = 5;
// Hashes run on libuv's 4 threads; more at once only queues there. What
// waits beyond this is refused (503), so an attacker cannot queue work.
const MAX_HASHES_IN_FLIGHT = 4;
const MAX_HASHES_QUEUED = 16;
const TOKEN_LEN = 32;

// `status` is the HTTP status a refusal is answered with: 400 as in rtcd,
// 403 over the registration quota, 429 for one source over its rate, 503
// when key checks are saturated.
export class AuthError extends Error {
  readonly status: 400 | 403 | 429 | 503;
  constructor(message: string, status: 400 | 403 | 429 | 503 = 400) {
    super(message);
    this.status = status;
  }
}

// Why an attempt was refused before its key was checked (a metric label).
export type AuthRefusal = "source_rate" | "global_rate" | "busy" | "registrations";

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
  { ok: true; clientID: string; admin: boolean } | { ok: false; code: 401 | 429 | 503; error: string };

export interface AuthOptions {
  enableAdmin: boolean;
  adminSecret: string;
  sessionTTLMinutes: number;
  // CPUs we may use (system.ts cpuBudget); sizes the rate limiters.
  cpuBudget: number;
  // Tests only: a different global auth rate than rtcd's, or per source.
  ratePerSecond?: number;
  sourceRatePerSecond?: number;
  // Tests only: the per-source buckets' clock (ms), so a test of their
  // refill does not depend on how fast this machine hashes keys.
  sourceClock?: () => number;
  // limits.registrations: clients the store may hold.
  maxRegistrations?: number;
  // Each attempt refused before its key was checked, or by the
  // registration quota.
  onRefused?: (why: AuthRefusal) => void;
}

export class AuthService {
  readonly limiter: RateLimiter;
  readonly sources: SourceBuckets;
  readonly sessions: SessionCache;
  private readonly hashes = new Semaphore(MAX_HASHES_IN_FLIGHT, MAX_HASHES_QUEUED);
  // Unknown client IDs are checked against this, so they cost what known
  // ones do and the time taken does not tell which IDs exist.
  private readonly dummyHash: Promise<string>;
  private readonly adminDigest: Buffer | undefined;
  private readonly store: CredentialStore;
  private readonly onRefused: (why: AuthRefusal) => void;
  private readonly maxRegistrations: number;

  constructor(store: CredentialStore, opts: AuthOptions) {
    this.store = store;
    const rate = opts.ratePerSecond ?? AUTH_PER_SECOND_PER_CPU * opts.cpuBudget;
    this.limiter = new RateLimiter(rate, 1);
    this.sources = new SourceBuckets(
      opts.sourceRatePerSecond ?? Math.max(1, rate * SOURCE_SHARE),
      SOURCE_BURST,
      SOURCE_IN_FLIGHT,
      SOURCE_FAILURE_PENALTY_S,
      SOURCE_FAILURE_BURST,
      AUTH_TIMEOUT_MS,
      undefined,
      opts.sourceClock,
    );
    this.sessions = new SessionCache(opts.sessionTTLMinutes * 60_000);
    this.adminDigest = opts.enableAdmin && opts.adminSecret !== "" ? digest(opts.adminSecret) : undefined;
    this.dummyHash = hashKey(randomBytes(32).toString("base64"));
    this.onRefused = opts.onRefused ?? (() => {});
    this.maxRegistrations = opts.maxRegistrations ?? Infinity;
  }

  // "" means the admin, who may register and unregister anyone but has no
  // calls of its own. `source` is the caller's address.
  async check(header: string | undefined, source?: string): Promise<AuthResult> {
    const fail = (error: string): AuthResult => ({ ok: false, code: 401, error });
    const parsed = parseAuthorization(header);
    if (parsed.kind === "bearer") {
      const s = this.sessions.get(parsed.token);
      if ("error" in s) return fail(`authentication failed: ${s.error}`);
      return { ok: true, clientID: s.clientID, admin: false };
    }
    if (parsed.kind === "invalid") return fail("authentication failed: invalid auth header");
    try {
      // Every Basic attempt, the admin's included, is paced.
      return await this.paced(source, "authentication failed", async (): Promise<AuthResult> => {
        if (this.adminDigest && timingSafeEqual(digest(parsed.pass), this.adminDigest))
          return { ok: true, clientID: "", admin: true };
        if (parsed.user === "") return fail("authentication failed: unauthorized");
        try {
          await this.verify(parsed.user, parsed.pass, "authentication failed");
        } catch (err) {
          if (!(err instanceof AuthError)) throw err;
          return { ok: false, code: limitStatus(err), error: "authentication failed" };
        }
        return { ok: true, clientID: parsed.user, admin: false };
      });
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      return { ok: false, code: limitStatus(err), error: err.message };
    }
  }

  async authenticate(id: string, key: string, source?: string): Promise<void> {
    const prefix = "authentication failed";
    // IDs and keys no registration can have are refused before any
    // hashing (and before the global limiter: they cost nothing).
    if (id === "") throw new AuthError(`${prefix}: error: empty key`);
    await this.paced(source, prefix, () => this.verify(id, key, prefix));
  }

  // The source's in-flight and failure bounds (refused at once) and its
  // pace (a wait), then rtcd's global limiter (a wait of up to 10 s), then `fn`.
  private async paced<T>(source: string | undefined, prefix: string, fn: () => Promise<T>): Promise<T> {
    const wait = this.sources.take(source);
    if (wait === undefined) {
      this.onRefused("source_rate");
      throw new AuthError(`${prefix}: too many attempts from this address, retry later`, 429);
    }
    let failed = false;
    try {
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!(await this.limiter.wait(AUTH_TIMEOUT_MS))) {
        this.onRefused("global_rate");
        throw new AuthError(`${prefix}: rate: Wait(n=1) would exceed context deadline`);
      }
      const r = await fn();
      // check() answers a wrong key with a result, not an error.
      failed = (r as { ok?: unknown } | undefined)?.ok === false;
      return r;
    } catch (err) {
      // A wrong or unknown key, not a limit.
      failed = err instanceof AuthError && err.status === 400;
      throw err;
    } finally {
      this.sources.done(source, failed);
    }
  }

  private async verify(id: string, key: string, prefix: string): Promise<void> {
    // No registration has such an ID or key, so no hash is needed to say
    // no (and saying it fast tells nothing about which IDs exist).
    if (Buffer.byteLength(id) > MAX_CLIENT_ID_BYTES) throw new AuthError(`${prefix}: error: not found`);
    const hash = this.store.get(id);
    if (key === "" || Buffer.byteLength(key) > MAX_KEY_BYTES)
      throw new AuthError(hash === undefined ? `${prefix}: error: not found` : prefix);
    let ok: boolean;
    try {
      ok = await this.hashes.run(async () => verifyKey(hash ?? (await this.dummyHash), key));
    } catch (err) {
      if (!(err instanceof Busy)) throw err;
      this.onRefused("busy");
      throw new AuthError(`${prefix}: server busy, retry later`, 503);
    }
    if (hash === undefined) throw new AuthError(`${prefix}: error: not found`);
    if (!ok) throw new AuthError(prefix);
  }

  async register(id: string, key: string, source?: string): Promise<void> {
    if (Buffer.byteLength(key) < MIN_KEY_LEN) throw new AuthError("registration failed: key not long enough");
    if (id === "") throw new AuthError("registration failed: error: empty key");
    // Checked before any hashing (rtcd finds it only when storing).
    if (Buffer.byteLength(id) > MAX_CLIENT_ID_BYTES)
      throw new AuthError("registration failed: failed to set key: error: key too large");
    if (this.store.get(id) !== undefined) throw new AuthError("registration failed: already registered");
    if (this.store.count() >= this.maxRegistrations) {
      this.onRefused("registrations");
      throw new AuthError(
        `registration failed: registration limit reached (${this.maxRegistrations}, limits.registrations)`,
        403,
      );
    }
    if (Buffer.byteLength(key) > MAX_KEY_BYTES)
      throw new AuthError(`registration failed: key longer than ${MAX_KEY_BYTES} bytes`);
    const hash = await this.paced(source, "registration failed", async () => {
      try {
        return await this.hashes.run(() => hashKey(key));
      } catch (err) {
        if (!(err instanceof Busy)) throw err;
        this.onRefused("busy");
        throw new AuthError("registration failed: server busy, retry later", 503);
      }
    });
    if (!this.store.put(id, hash)) throw new AuthError("registration failed: already registered");
  }

  unregister(id: string): void {
    this.lookup(id, "unregister failed");
    this.store.delete(id);
    // Like rtcd: a removed client's bearer token stops working at once.
    this.sessions.delete(id);
  }

  async login(id: string, key: string, source?: string): Promise<string> {
    try {
      await this.authenticate(id, key, source);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      throw new AuthError(`login failed: ${err.message}`, err.status);
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

// A failed Basic check is a 401, unless a limit refused it.
function limitStatus(e: AuthError): 401 | 429 | 503 {
  return e.status === 429 || e.status === 503 ? e.status : 401;
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
