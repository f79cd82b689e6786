// Applies LayerPolicy to every simulcast consumer: once a second, each
// viewer's layer is decided from its consumer's score and set as the
// consumer's preferred layer (mediasoup then switches at the next key frame
// of that layer, asking the sender for one).
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import { LayerPolicy, LOW } from "./layer-policy.ts";

const TICK_MS = 1000;

interface Viewed {
  consumer: ms.Consumer;
  policy: LayerPolicy;
  log: Logger;
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

  add(consumer: ms.Consumer, log: Logger): void {
    if (consumer.type !== "simulcast") return;
    this.viewed.set(consumer.id, { consumer, policy: new LayerPolicy(Date.now()), log });
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
      if (layer === before) continue;
      v.log.debug("media: simulcast layer for viewer", {
        consumerId: v.consumer.id,
        spatialLayer: layer,
        score: v.consumer.score.score,
      });
      v.consumer.setPreferredLayers({ spatialLayer: layer }).catch(() => undefined);
    }
  }
}
