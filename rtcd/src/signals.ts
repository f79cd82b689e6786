// SIGTERM and SIGINT from the first line of main.ts on. Before "started" a
// signal ends the process at once (there are no calls to drain, and a start
// that hangs, e.g. on a worker that never comes up, must not hold the pod);
// after it, SIGTERM (Kubernetes) drains and repeats change nothing, SIGINT
// (a terminal) drains too and a second Ctrl-C closes every session at once.
import type { Logger } from "./log.ts";
import { jsonLine } from "./log.ts";

interface Service {
  drain(why: string): void;
  stop(): Promise<void>;
  registry: { closeAll(reason: string): void };
}

interface Proc {
  on(signal: "SIGTERM" | "SIGINT", fn: () => void): unknown;
  exit(code: number): never;
  stderr: { write(s: string): unknown };
}

// How long a stop during startup may take before we exit anyway: the
// workers may be the very thing that hangs.
const EARLY_STOP_MS = 500;

export function earlySignals(proc: Proc) {
  let log: Logger | undefined;
  let service: Service | undefined;
  let running = false;
  let interrupts = 0;
  let exiting = false;

  const early = (sig: string) => {
    if (exiting) return;
    exiting = true;
    const msg = `service: ${sig} before start finished, exiting`;
    if (log) log.warn(msg, { signal: sig });
    else proc.stderr.write(jsonLine("warn", new Date(), msg, { signal: sig }));
    const done = () => {
      log?.close();
      proc.exit(0);
    };
    if (!service) return done();
    // Closes what start() has opened so far (ports, workers), but never
    // waits past the deadline for it.
    setTimeout(done, EARLY_STOP_MS).unref();
    service.stop().then(done, done);
  };

  proc.on("SIGTERM", () => {
    if (!running) return early("SIGTERM");
    service!.drain("SIGTERM");
  });
  proc.on("SIGINT", () => {
    if (!running) return early("SIGINT");
    if (++interrupts === 1) return service!.drain("SIGINT");
    log?.warn("service: second SIGINT, closing all sessions now");
    service!.registry.closeAll("interrupted");
  });

  return {
    useLogger(l: Logger) {
      log = l;
    },
    beforeStart(s: Service) {
      service = s;
    },
    started(s: Service) {
      service = s;
      running = true;
    },
  };
}

// Installed when main.ts imports this module, before anything else loads.
export const processSignals = earlySignals(process);
