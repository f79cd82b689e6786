// A session's serial signal queue: the client's messages and our own
// follow-ups run one at a time, in order. What the client queues is bounded:
// a client sending faster than its session can handle them (each offer
// awaits the worker) would otherwise grow the queue, and rtcd's memory,
// without end. A newer offer from the client makes a queued one moot (only
// its latest local description expects an answer), so a superseded offer is
// dropped, and its SDP released, before it runs. The queue is drained
// without waiting when the worker is quick, so a bound on its length alone
// would let a client have its every message handled at full speed: the
// client's messages are rate-limited too (a token bucket).
import { RateLimiter } from "../api/ratelimit.ts";

// Client messages queued and not yet handled, per session. A Calls client
// has a handful at most (an offer, mute, screen on/off, lock); ICE
// candidates, which rtcd ignores, are not queued. Each entry holds at most
// one WebSocket frame (1 MiB), so a session holds at most 64 MiB.
export const SIGNAL_QUEUE_MAX = 64;
// Client messages per second, over a burst of SIGNAL_QUEUE_MAX: a Calls
// client renegotiates a few times a minute (mute, screen share, a new
// participant's tracks), each time an offer or answer and a lock/unlock.
export const SIGNAL_RATE_PER_SECOND = 20;

export type Overflow = "signal_queue" | "signal_rate";

type Task = () => Promise<void> | void;

export class SignalQueue {
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private latestOffer: { run: Task | undefined } | undefined;
  private readonly rate = new RateLimiter(SIGNAL_RATE_PER_SECOND, SIGNAL_QUEUE_MAX);
  private readonly isDone: () => boolean;
  private readonly failed: (err: unknown) => void;

  // `isDone`: the session ended (queued tasks are skipped); `failed`: a
  // task threw.
  constructor(isDone: () => boolean, failed: (err: unknown) => void) {
    this.isDone = isDone;
    this.failed = failed;
  }

  // Client messages queued and not yet run.
  get size(): number {
    return this.queued;
  }

  // One of our own follow-ups (not counted against the bound).
  add(fn: Task): void {
    this.chain = this.chain.then(() => (this.isDone() ? undefined : fn())).catch(this.failed);
  }

  // A client's message; which bound refused it (and nothing queued), or
  // undefined. `offer`: it is an offer, which supersedes one still queued.
  client(fn: Task, offer = false): Overflow | undefined {
    if (this.queued >= SIGNAL_QUEUE_MAX) return "signal_queue";
    if (this.rate.reserve(0) === undefined) return "signal_rate";
    this.queued++;
    const entry = { run: fn as Task | undefined };
    if (offer) {
      if (this.latestOffer) this.latestOffer.run = undefined;
      this.latestOffer = entry;
    }
    this.add(() => {
      this.queued--;
      if (this.latestOffer === entry) this.latestOffer = undefined;
      const run = entry.run;
      entry.run = undefined;
      return run?.();
    });
    return undefined;
  }
}
