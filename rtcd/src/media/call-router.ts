// A call's router on one worker: the sessions of the call placed on that
// worker have their transports here, its audio level observer watches their
// voice tracks, and the tracks of the call's sessions on other workers are
// piped in (mediasoup's pipeToRouter) the first time a session here is to
// receive them. Closing it closes its router, and with it the transports,
// the pipe transports (mediasoup closes their twins on the other routers)
// and the observer.
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import { MEDIA_CODECS } from "./codecs.ts";
import { pipedLayers } from "./piped-layers.ts";
import type { WorkerSlot } from "./worker-pool.ts";

export class CallRouter {
  readonly slot: WorkerSlot;
  readonly router: ms.Router;
  readonly levels: ms.AudioLevelObserver;
  // Sessions of the call placed here (transports created or being created).
  sessions = 0;
  // Producers of other workers piped in: producer ID -> whether it arrived
  // (false when the pipe could not be made). Deleted when the pipe closes.
  private readonly piped = new Map<string, Promise<boolean>>();
  private readonly pipeTransports = new Set<ms.Transport>();
  private readonly log: Logger;

  private constructor(slot: WorkerSlot, router: ms.Router, levels: ms.AudioLevelObserver, log: Logger) {
    this.slot = slot;
    this.router = router;
    this.levels = levels;
    this.log = log;
    router.observer.on("newtransport", (t) => {
      if (t.type !== "pipe") return;
      this.pipeTransports.add(t);
      t.observer.once("close", () => this.pipeTransports.delete(t));
    });
  }

  static async create(slot: WorkerSlot, log: Logger): Promise<CallRouter> {
    const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    try {
      const levels = await router.createAudioLevelObserver({ maxEntries: 64, threshold: -60, interval: 400 });
      return new CallRouter(slot, router, levels, log.with({ worker: slot.index }));
    } catch (err) {
      router.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.router.closed;
  }

  // Pipe transports of this router (to or from the call's other routers).
  get pipes(): number {
    return this.pipeTransports.size;
  }

  /**
   * Makes `producer` (held by `from`, another router of the call) consumable
   * here, under the same ID: one pipe per producer and router, made once
   * however many sessions here want it. Its pause state follows the
   * original (mute), and it closes with the original or with either router.
   */
  pipeFrom(from: CallRouter, producer: ms.Producer): Promise<boolean> {
    const id = producer.id;
    let done = this.piped.get(id);
    if (done) return done;
    done = from.router.pipeToRouter({ producerId: id, router: this.router }).then(
      async ({ pipeProducer }) => {
        if (!pipeProducer || pipeProducer.closed) {
          this.piped.delete(id);
          return false;
        }
        pipeProducer.observer.once("close", () => this.piped.delete(id));
        const how = await pipedLayers(producer, pipeProducer);
        if (how === "timeout")
          this.log.info("media: a piped simulcast track's layers did not all arrive in time", {
            producerId: id,
            from: from.slot.index,
            arrived: pipeProducer.score,
          });
        return how !== "closed";
      },
      (err: unknown) => {
        this.piped.delete(id);
        if (!this.closed && !from.closed && !producer.closed)
          this.log.warn("media: piping a track between workers failed", {
            producerId: id,
            from: from.slot.index,
            error: String(err),
          });
        return false;
      },
    );
    this.piped.set(id, done);
    return done;
  }

  close(): void {
    this.router.close();
    this.piped.clear();
  }
}
