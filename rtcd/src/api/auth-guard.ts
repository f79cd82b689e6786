// What stands between an attacker and the slow key hash, beyond rtcd's one
// global limiter: a token bucket per source address, so a flood from one
// address cannot use up the rate every client shares, and a bound on
// concurrent hashes, so scrypt work cannot queue without bound on libuv's
// threads. Both refuse at once instead of making the caller wait: a waiting
// request still holds its socket and memory.
import { isIPv6 } from "node:net";

interface Bucket {
  tokens: number;
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
  private readonly failureDebt: number;

  constructor(
    ratePerSecond: number,
    burst: number,
    maxInFlight = Infinity,
    failurePenaltySeconds = 0,
    maxSources = 10_000,
    now = () => performance.now(),
  ) {
    this.perMs = ratePerSecond / 1000;
    this.burst = burst;
    this.maxInFlight = maxInFlight;
    this.failureDebt = ratePerSecond * failurePenaltySeconds;
    this.maxSources = maxSources;
    this.now = now;
  }

  // Takes a token for `source` if it has one now and fewer than
  // maxInFlight of its attempts are under way; done(source) ends the
  // attempt. Slow key checks make the in-flight bound the one that holds
  // under a flood: one address never has more than that many hashes
  // running or queued, whatever the hash costs on a busy machine.
  take(source: string | undefined): boolean {
    // In-process callers (no socket) are not network sources.
    if (source === undefined) return true;
    const key = sourceKey(source);
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + (t - b.last) * this.perMs);
      b.last = t;
      // Most recently used last, so eviction below drops the idle ones.
      this.buckets.delete(key);
    } else {
      if (this.buckets.size >= this.maxSources) this.evict();
      b = { tokens: this.burst, last: t, inFlight: 0 };
    }
    this.buckets.set(key, b);
    if (b.tokens < 1 || b.inFlight >= this.maxInFlight) return false;
    b.tokens -= 1;
    b.inFlight++;
    return true;
  }

  // Ends an attempt. A failed one (a wrong key) costs the source
  // failurePenaltySeconds of refill on top: clients with the right key do
  // not fail, so this only slows down guessing.
  done(source: string | undefined, failed = false): void {
    if (source === undefined) return;
    const b = this.buckets.get(sourceKey(source));
    if (!b) return;
    if (b.inFlight > 0) b.inFlight--;
    if (failed) b.tokens -= this.failureDebt;
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
