// Draining on SIGTERM, where rtcd only waits: readiness fails at once (the
// pod leaves the headless Service, so the plugin stops placing calls here),
// joins that would start a new call are refused, joins to running calls
// still work, and the process ends when the last session does, or at the
// deadline, never earlier. Repeated signals change nothing.
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { CallRegistry } from "./registry.ts";

export type DrainState = "serving" | "draining" | "finished";

export class Drainer {
  private state: DrainState = "serving";
  private timer: NodeJS.Timeout | undefined;

  private readonly registry: CallRegistry;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly deadlineMs: number;
  // Stops serving and exits; called once.
  private readonly finish: (reason: string) => void;

  constructor(
    registry: CallRegistry,
    metrics: Metrics,
    log: Logger,
    deadlineMs: number,
    finish: (reason: string) => void,
  ) {
    this.registry = registry;
    this.metrics = metrics;
    this.log = log;
    this.deadlineMs = Math.min(deadlineMs, 2 ** 31 - 1);
    this.finish = finish;
  }

  get current(): DrainState {
    return this.state;
  }

  // Ready = accepting new calls.
  get ready(): boolean {
    return this.state === "serving";
  }

  begin(why: string): void {
    if (this.state !== "serving") {
      this.log.info("drain: already draining, running calls are kept", {
        signal: why,
        sessions: this.registry.size,
      });
      return;
    }
    this.state = "draining";
    this.metrics.draining.set(1);
    this.registry.stopNewCalls();
    if (this.registry.size === 0) {
      this.log.info("drain: no sessions, stopping", { signal: why });
      this.done("no sessions");
      return;
    }
    this.log.info("drain: started, refusing new calls, waiting for running ones", {
      signal: why,
      sessions: this.registry.size,
      deadlineSeconds: this.deadlineMs / 1000,
    });
    this.registry.onEmpty = () => this.done("last session ended");
    this.timer = setTimeout(() => {
      this.log.warn("drain: deadline reached, closing the remaining sessions", {
        sessions: this.registry.size,
      });
      this.registry.onEmpty = undefined;
      this.registry.closeAll("drain deadline");
      this.done("deadline");
    }, this.deadlineMs);
  }

  private done(reason: string): void {
    if (this.state === "finished") return;
    this.state = "finished";
    clearTimeout(this.timer);
    this.log.info("drain: finished", { reason });
    this.finish(reason);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
