// At most `limit` tasks at once; the others wait their turn, first come first
// served. The operator's one bound on concurrent work: informer lists, media
// probes, and every read of the pods' own endpoints (pod-http.ts: the
// autoscaler's load requests and the pod-event /metrics reads share one).
export class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  readonly limit: number;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`gate limit ${limit}: must be >= 1`);
    this.limit = limit;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    // The slot is handed over by the task that frees it (see below), so
    // `active` counts it already when this resumes.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
