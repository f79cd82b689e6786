// Which simulcast layer (rtcd's RIDs: l, then h) a viewer of a screen share
// may receive at most.
//
// rtcd starts every viewer at l and raises it to h when its send-side
// estimate of the viewer's bandwidth passes 2.25 Mbit/s, lowering it when
// the estimate drops, with a 10 s backoff that grows by half at each change.
// Ours has two parts. mediasoup's own downlink estimate (transport-cc, which
// a browser viewer answers now that consumers use its extension IDs) picks
// the highest layer that fits, below a cap. This policy sets the cap from
// what every viewer sends back, its receiver reports, summed up in the
// consumer's score (10 = nothing lost; 10 x delivered^4 per interval): start
// at l, allow h once the viewer has been clean for the backoff, back to l as
// soon as it loses packets, and back off longer each time. For viewers
// without transport-cc (no estimate) the cap is the layer.

export const LOW = 0;
export const HIGH = 1;

export interface LayerPolicyOptions {
  // Score at or above which a viewer counts as clean.
  goodScore: number;
  // Score below which a viewer at h is moved to l (7 is about 8 % loss).
  badScore: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_LAYER_POLICY: LayerPolicyOptions = {
  goodScore: 9,
  badScore: 7,
  initialBackoffMs: 10_000,
  maxBackoffMs: 120_000,
};

export class LayerPolicy {
  private level = LOW;
  private lastChange: number;
  private cleanSince: number | undefined;
  private backoff: number;
  private readonly opts: LayerPolicyOptions;

  constructor(now: number, opts: LayerPolicyOptions = DEFAULT_LAYER_POLICY) {
    this.opts = opts;
    this.lastChange = now;
    this.backoff = opts.initialBackoffMs;
  }

  get current(): number {
    return this.level;
  }

  /** The layer for the viewer now, given its consumer's current score. */
  decide(now: number, score: number): number {
    const clean = score >= this.opts.goodScore;
    if (!clean) this.cleanSince = undefined;
    else this.cleanSince ??= now;
    if (this.level === HIGH && score < this.opts.badScore) {
      this.change(LOW, now);
    } else if (
      this.level === LOW &&
      this.cleanSince !== undefined &&
      now - this.cleanSince >= this.backoff &&
      now - this.lastChange >= this.backoff
    ) {
      this.change(HIGH, now);
    }
    return this.level;
  }

  private change(level: number, now: number): void {
    // Each move down makes the next move up wait longer, so a viewer whose
    // link cannot carry h settles at l instead of flapping.
    if (level === LOW) this.backoff = Math.min(this.backoff * 1.5, this.opts.maxBackoffMs);
    this.level = level;
    this.lastChange = now;
    this.cleanSince = undefined;
  }
}
