// Applies LayerPolicy to every simulcast consumer: once a second, each
// viewer's layer is decided from its consumer's score and set as the
// consumer's preferred layer (mediasoup then switches at the next key frame
// of that layer, asking the sender for one).
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import { LayerPolicy, LOW } from "./layer-policy.ts";
import { viewerLayerState } from "./layer-state.ts";

const TICK_MS = 1000;
// How long a viewer's forwarded layer may differ from its chosen one before
// mediasoup's view of it is logged; while it still does, again after twice as
// long each time, up to once a minute (a viewer that its estimate holds below
// its cap stays off it, and each look asks the worker three times).
const OFF_LAYER_LOG_MS = 5000;
const OFF_LAYER_LOG_MAX_MS = 60_000;

interface Viewed {
  consumer: ms.Consumer;
  transport: ms.Transport | undefined;
  policy: LayerPolicy;
  log: Logger;
  // Since when its forwarded layer differs from the chosen one, and when that
  // is to be logged next.
  offSince?: number;
  offNextLog?: number;
}

export class SimulcastLayers {
  private readonly viewed = new Map<string, Viewed>();
  private timer: NodeJS.Timeout | undefined;

  // What a simulcast consumer starts with, as rtcd starts viewers at l.
  static readonly initial: ms.ConsumerLayers = { spatialLayer: LOW };

  start(): void {
    this.timer ??= setInterval(() => this.tick(Date.now()), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.viewed.clear();
  }

  add(consumer: ms.Consumer, log: Logger, transport?: ms.Transport): void {
    if (consumer.type !== "simulcast") return;
    this.viewed.set(consumer.id, { consumer, transport, policy: new LayerPolicy(Date.now()), log });
    consumer.observer.once("close", () => this.viewed.delete(consumer.id));
    // What the decisions rest on and what they did, for whoever has to
    // explain a viewer's layer later: the score moves with its receiver
    // reports; the forwarded layer changes at a key frame of the new layer.
    log.debug("media: simulcast viewer added", { consumerId: consumer.id, score: consumer.score.score });
    consumer.on("score", (s) =>
      log.debug("media: simulcast viewer score", { consumerId: consumer.id, ...s }),
    );
    consumer.on("layerschange", (l) =>
      log.debug("media: simulcast layer forwarded", {
        consumerId: consumer.id,
        spatialLayer: l?.spatialLayer ?? null,
      }),
    );
  }

  tick(now: number): void {
    for (const [id, v] of this.viewed) {
      if (v.consumer.closed) {
        this.viewed.delete(id);
        continue;
      }
      const before = v.policy.current;
      const layer = v.policy.decide(now, v.consumer.score.score);
      this.watchOffLayer(v, layer, now);
      if (layer === before) continue;
      v.log.debug("media: simulcast layer for viewer", {
        consumerId: v.consumer.id,
        spatialLayer: layer,
        score: v.consumer.score.score,
      });
      v.consumer.setPreferredLayers({ spatialLayer: layer }).catch(() => undefined);
    }
  }

  // A viewer whose forwarded layer is not its chosen one (mediasoup waits for
  // a key frame, or cannot switch yet): after a while, what mediasoup says
  // about it.
  private watchOffLayer(v: Viewed, layer: number, now: number): void {
    const c = v.consumer;
    if (c.paused || c.currentLayers?.spatialLayer === layer) {
      v.offSince = v.offNextLog = undefined;
      return;
    }
    v.offSince ??= now;
    v.offNextLog ??= now + OFF_LAYER_LOG_MS;
    if (now < v.offNextLog) return;
    const offForMs = now - v.offSince;
    v.offNextLog = now + Math.min(Math.max(offForMs, OFF_LAYER_LOG_MS), OFF_LAYER_LOG_MAX_MS);
    const off = { consumerId: c.id, spatialLayer: layer, offForMs };
    viewerLayerState(c, v.transport).then(
      (state) => v.log.debug("media: simulcast viewer off its layer", { ...off, ...state }),
      (err: unknown) => v.log.debug("media: simulcast viewer off its layer", { ...off, error: String(err) }),
    );
  }
}
