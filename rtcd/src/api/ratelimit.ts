// A token bucket with rtcd's semantics (golang.org/x/time/rate, burst 1,
// Wait under a 10 s deadline): a caller over the rate is delayed, not
// refused, unless its turn would come after the deadline. That both slows
// key guessing and bounds how much slow hashing an attacker can trigger.
export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly perMs: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(ratePerSecond: number, burst = 1, now: () => number = () => performance.now()) {
    this.burst = burst;
    this.now = now;
    this.perMs = ratePerSecond / 1000;
    this.tokens = burst;
    this.last = this.now();
  }

  // Takes a slot; returns the milliseconds to wait for it, or undefined
  // (taking nothing) when that would exceed maxWaitMs.
  reserve(maxWaitMs: number): number | undefined {
    const t = this.now();
    const tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.perMs) - 1;
    const wait = tokens < 0 ? -tokens / this.perMs : 0;
    if (wait > maxWaitMs) return undefined;
    this.tokens = tokens;
    this.last = t;
    return wait;
  }

  async wait(maxWaitMs: number): Promise<boolean> {
    const ms = this.reserve(maxWaitMs);
    if (ms === undefined) return false;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    return true;
  }
}
