// Time for deadlines that must not move when someone sets the wall clock: a
// leader's renew deadline measured with Date.now() stretches or shrinks with
// NTP steps and manual changes, which is how two replicas end up leading at
// once. performance.now() is monotonic. Tests inject a clock they advance.
import type { Clock } from "../controller/workqueue.ts";

export type { Clock };

export const monotonicClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Exponential backoff for restarting something that failed, back to the
 * base delay once it has run without failing for `resetAfterMs`.
 */
export class Backoff {
  private delayMs = 0;
  private lastFailure = Number.NEGATIVE_INFINITY;
  private readonly clock: Clock;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly resetAfterMs: number;

  constructor(clock: Clock, baseMs = 500, maxMs = 30_000, resetAfterMs = 60_000) {
    this.clock = clock;
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.resetAfterMs = resetAfterMs;
  }

  /** The delay before the next attempt after a failure now. */
  next(): number {
    const now = this.clock.now();
    const healthyFor = now - this.lastFailure;
    this.lastFailure = now;
    this.delayMs =
      this.delayMs === 0 || healthyFor - this.delayMs >= this.resetAfterMs
        ? this.baseMs
        : Math.min(this.delayMs * 2, this.maxMs);
    return this.delayMs;
  }
}
