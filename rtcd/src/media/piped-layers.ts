// A simulcast track piped to another worker arrives there one layer at a
// time: mediasoup's pipe forwards each layer from its own next key frame, and
// l (fewer frames per second) often arrives after h. A viewer whose consumer
// is created in between starts at h, because mediasoup takes the layers that
// exist over none, and then stays there until sender reports let it align l,
// while a viewer on the sender's worker starts at l as rtcd starts every
// viewer. So the first viewers on another worker wait until each layer the
// sender has live has arrived through the pipe, for a bounded time: a layer
// that never arrives (the sender stopped it meanwhile) delays them, never
// blocks them.
import type { types as ms } from "mediasoup";

export const PIPED_LAYERS_WAIT_MS = 2000;

const liveLayers = (p: ms.Producer): Set<number> =>
  new Set(p.score.filter((s) => s.score > 0).map((s) => s.encodingIdx));

/** Whether every layer live on `original` now has a score on `piped`. */
export function layersArrived(
  originalLive: ReadonlySet<number>,
  piped: readonly ms.ProducerScore[],
): boolean {
  const arrived = new Set(piped.filter((s) => s.score > 0).map((s) => s.encodingIdx));
  for (const i of originalLive) if (!arrived.has(i)) return false;
  return true;
}

/**
 * Resolves once `piped` carries every layer live on `original` (at once for
 * anything but an unpaused simulcast track), when either closes, or after
 * `timeoutMs`; says which.
 */
export function pipedLayers(
  original: ms.Producer,
  piped: ms.Producer,
  timeoutMs = PIPED_LAYERS_WAIT_MS,
): Promise<"arrived" | "closed" | "timeout"> {
  const live = liveLayers(original);
  if (original.type !== "simulcast" || original.paused || layersArrived(live, piped.score))
    return Promise.resolve("arrived");
  return new Promise((resolve) => {
    const done = (how: "arrived" | "closed" | "timeout") => {
      clearTimeout(timer);
      piped.observer.off("score", onScore);
      piped.observer.off("close", onClose);
      resolve(how);
    };
    const onScore = (score: ms.ProducerScore[]) => {
      if (layersArrived(live, score)) done("arrived");
    };
    const onClose = () => done("closed");
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    piped.observer.on("score", onScore);
    piped.observer.once("close", onClose);
  });
}
