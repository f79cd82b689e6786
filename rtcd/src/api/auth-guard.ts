// What stands between an attacker and the slow key hash, beyond rtcd's one
// global limiter: a token bucket per source address, so a flood from one
// address cannot use up the rate every client shares, and a bound on
// concurrent hashes, so scrypt work cannot queue without bound on libuv's
// threads. Both refuse at once instead of making the caller wait: a waiting
// request still holds its socket and memory.
import { isIPv6 } from "node:net";

interface Bucket {
  tokens: number;
  // Failed key checks this source may still make before it waits: a client
  // with the right key never fails, one that mistyped a few times is not
  // slowed, a guesser gets failureBurst and then one per penalty.
  failures: number;
  last: number;
  // Attempts of this source between take() and done().
  inFlight: number;
}

export class SourceBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly burst: number;
  private readonly maxSources: number;
  private readonly now: () => number;

  private readonly maxInFlight: number;
  private readonly failuresPerMs: number;
  private readonly failureBurst: number;
  private readonly maxWaitMs: number;

  constructor(
    ratePerSecond: number,
    burst: number,
    maxInFlight = Infinity,
    failurePenaltySeconds = 0,
    failureBurst = Infinity,
    maxWaitMs = 10_000,
    maxSources = 10_000,
    now = () => performance.now(),
  ) {
    this.perMs = ratePerSecond / 1000;
    this.burst = burst;
    this.maxInFlight = maxInFlight;
    this.failuresPerMs = failurePenaltySeconds > 0 ? 1 / (failurePenaltySeconds * 1000) : Infinity;
    this.failureBurst = failureBurst;
    this.maxWaitMs = maxWaitMs;
    this.maxSources = maxSources;
    this.now = now;
  }

  // Starts an attempt of `source`: the milliseconds it must wait for its
  // turn (its pace past the burst, and past its free failures until one
  // comes back; 0 otherwise), or undefined when it is refused at once:
  // maxInFlight of its attempts are already waiting or under way, or the
  // wait would exceed maxWaitMs. done(source) ends it. Waiting is bounded by
  // maxInFlight per source, so a flood from one address holds no more than
  // that; a client that is merely fast, or mistyped its key, is delayed, not
  // refused (as rtcd delays what exceeds its limiter).
  take(source: string | undefined): number | undefined {
    // In-process callers (no socket) are not network sources.
    if (source === undefined) return 0;
    const key = sourceKey(source);
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + (t - b.last) * this.perMs);
      b.failures = Math.min(this.failureBurst, b.failures + (t - b.last) * this.failuresPerMs);
      b.last = t;
      // Most recently used last, so eviction below drops the idle ones.
      this.buckets.delete(key);
    } else {
      if (this.buckets.size >= this.maxSources) this.evict();
      b = { tokens: this.burst, failures: this.failureBurst, last: t, inFlight: 0 };
    }
    this.buckets.set(key, b);
    if (b.inFlight >= this.maxInFlight) return undefined;
    // Past its burst, an attempt waits for the source's pace; past its free
    // failures, until a failure has come back.
    const paceWait = b.tokens >= 1 ? 0 : (1 - b.tokens) / this.perMs;
    const failureWait = b.failures >= 1 ? 0 : (1 - b.failures) / this.failuresPerMs;
    const wait = Math.max(paceWait, failureWait);
    if (wait > this.maxWaitMs) return undefined;
    b.tokens -= 1;
    b.inFlight++;
    return wait;
  }

  // Ends an attempt. A failed one (a wrong key) uses one of the source's
  // failures; they come back one per failurePenaltySeconds, so this only
  // slows down guessing.
  done(source: string | undefined, failed = false): void {
    if (source === undefined) return;
    const b = this.buckets.get(sourceKey(source));
    if (!b) return;
    if (b.inFlight > 0) b.inFlight--;
    if (failed) b.failures -= 1;
  }

  get size(): number {
    return this.buckets.size;
  }

  // The least recently used tenth: a full bucket forgotten is the same as a
  // new one, and a flood from many addresses is held back by the global
  // limiter behind this.
  private evict(): void {
    let n = Math.max(1, Math.floor(this.maxSources / 10));
    for (const [k, b] of this.buckets) {
      if (n === 0) break;
      // A source with attempts under way keeps its count.
      if (b.inFlight > 0) continue;
      this.buckets.delete(k);
      n--;
    }
  }
}

// IPv4 addresses as they are; IPv6 by their /64, which one host usually
// holds whole (counting each of its addresses would give it 2^64 buckets).
export function sourceKey(addr: string | undefined): string {
  if (!addr) return "";
  const a = addr.startsWith("::ffff:") && addr.includes(".") ? addr.slice(7) : addr;
  if (!isIPv6(a)) return a;
  const [head = "", tail = ""] = a.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === "" ? [] : tail.split(":");
  const full = a.includes("::") ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
  return full
    .slice(0, 4)
    .map((x) => x.replace(/^0+(?=.)/, "").toLowerCase())
    .join(":");
}

export class Busy extends Error {}

// At most `max` tasks at once and `maxQueued` waiting; beyond, Busy.
export class Semaphore {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly max: number;
  private readonly maxQueued: number;

  constructor(max: number, maxQueued: number) {
    this.max = max;
    this.maxQueued = maxQueued;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) {
      if (this.waiting.length >= this.maxQueued) throw new Busy("too many key verifications in progress");
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  get inFlight(): number {
    return this.running;
  }
}
