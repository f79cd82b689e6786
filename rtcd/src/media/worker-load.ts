// How busy each mediasoup worker is, from the worker's own resource usage
// (getrusage in the worker process, asked over its channel once a second):
// the CPU seconds it has used (for /system) and its recent CPU share (for
// placing new calls).
import type { types as ms } from "mediasoup";

export interface WorkerLoad {
  // CPU seconds used since the worker started (user + system).
  cpuSeconds: number;
  // Share of one CPU used over the last sampling interval (0..1+).
  recent: number;
  // Sessions placed on the worker.
  sessions: number;
}

// New calls go to the worker with the least recent CPU; workers within
// LOAD_BUCKET of each other count as equal and the one with fewer sessions
// wins (a burst of joins lands before the next sample shows their cost).
const LOAD_BUCKET = 0.05;

export function pickWorker<T extends WorkerLoad>(slots: readonly T[]): T {
  if (slots.length === 0) throw new Error("media plane not started");
  const bucket = (l: WorkerLoad) => Math.floor(l.recent / LOAD_BUCKET);
  return slots.reduce((a, b) => {
    const d = bucket(b) - bucket(a);
    if (d !== 0) return d < 0 ? b : a;
    return b.sessions < a.sessions ? b : a;
  });
}

// What placing a session of a call reads of a worker: its load, and the
// consumers (what its sessions receive) it holds across all calls.
export interface SessionPlaceable extends WorkerLoad {
  consumers: number;
}

/**
 * The worker for a new session of a call. `hosting` are the live workers
 * that already hold the call's sessions, in the order the call reached them;
 * `alive` every live worker. The call stays where it is (no pipes, no extra
 * router) while one of its workers holds fewer than `perWorker` consumers
 * (mediasoup's guidance: about 500 per worker); past that the session goes
 * to the least loaded worker (pickWorker), which may be another of the
 * call's. A new call (no hosting worker) goes to the least loaded one, and
 * with one worker everything stays on it.
 */
export function placeSession<T extends SessionPlaceable>(
  hosting: readonly T[],
  alive: readonly T[],
  perWorker: number,
): T {
  for (const w of hosting) if (w.consumers < perWorker) return w;
  return pickWorker(alive);
}

export class WorkerLoadSampler {
  private timer: NodeJS.Timeout | undefined;
  private last = new Map<ms.Worker, { cpu: number; at: number }>();

  // Samples `slots` every intervalMs, updating their cpuSeconds and recent.
  start(slots: readonly (WorkerLoad & { worker: ms.Worker })[], intervalMs = 1000): void {
    const tick = async () => {
      // `slots` is the pool's own array: a replaced worker is sampled too.
      for (const slot of slots) {
        if (slot.worker.closed) continue;
        let usage: ms.WorkerResourceUsage;
        try {
          usage = await slot.worker.getResourceUsage();
        } catch {
          continue; // the worker is dying; its "died" handler deals with it
        }
        const cpu = (usage.ru_utime + usage.ru_stime) / 1000;
        const now = performance.now();
        const prev = this.last.get(slot.worker);
        if (prev && now > prev.at) slot.recent = (cpu - prev.cpu) / ((now - prev.at) / 1000);
        slot.cpuSeconds = cpu;
        this.last.set(slot.worker, { cpu, at: now });
      }
    };
    void tick();
    this.timer = setInterval(() => void tick(), intervalMs);
    this.timer.unref();
  }

  // A worker that died: its last sample is not needed any more.
  forget(worker: ms.Worker): void {
    this.last.delete(worker);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
