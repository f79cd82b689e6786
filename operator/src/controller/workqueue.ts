// A work queue with the semantics controllers rely on (as in client-go):
// - a key is queued at most once however many events arrive (dedupe);
// - a key being processed is never handed to a second worker at the same time;
//   events that arrive meanwhile re-queue it once processing is done;
// - failures back off per key (exponential), and a global token bucket caps the
//   retry rate, so one broken object neither spins nor slows the others.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface RateLimiterOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  qps: number;
  burst: number;
}

export const defaultRateLimiter: RateLimiterOptions = {
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  qps: 10,
  burst: 100,
};

/** Per-item exponential backoff combined with a global token bucket (the larger delay wins). */
export class RateLimiter {
  private readonly failures = new Map<string, number>();
  private tokens: number;
  private last: number;
  private readonly opts: RateLimiterOptions;
  private readonly clock: Clock;

  constructor(opts: RateLimiterOptions = defaultRateLimiter, clock: Clock = realClock) {
    this.opts = opts;
    this.clock = clock;
    this.tokens = opts.burst;
    this.last = clock.now();
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const backoff = Math.min(this.opts.baseDelayMs * 2 ** n, this.opts.maxDelayMs);
    return Math.max(backoff, this.bucketDelay());
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  private bucketDelay(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.last) / 1000) * this.opts.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.opts.qps) * 1000);
  }
}

export interface QueueObserver {
  added?(key: string): void;
  depth?(n: number): void;
  waited?(key: string, ms: number): void;
  retried?(key: string): void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly enqueuedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  readonly limiter: RateLimiter;
  private readonly clock: Clock;
  private readonly observer: QueueObserver;

  constructor(limiter?: RateLimiter, clock: Clock = realClock, observer: QueueObserver = {}) {
    this.clock = clock;
    this.limiter = limiter ?? new RateLimiter(defaultRateLimiter, clock);
    this.observer = observer;
  }

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.observer.added?.(key);
    if (!this.enqueuedAt.has(key)) this.enqueuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds the key after ms; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.clock.clearTimeout(existing.handle);
    const handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  addRateLimited(key: string): void {
    this.observer.retried?.(key);
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: string): void {
    this.limiter.forget(key);
  }

  /** Resolves with the next key, or undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.clock.clearTimeout(handle);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.take(key));
    else {
      this.queue.push(key);
      this.observer.depth?.(this.queue.length);
    }
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    const t = this.enqueuedAt.get(key);
    this.enqueuedAt.delete(key);
    if (t !== undefined) this.observer.waited?.(key, this.clock.now() - t);
    this.observer.depth?.(this.queue.length);
    return key;
  }
}
