// The Calls protocol on the `calls-dc` data channel, for one session, as
// rtcd v1.2.6 serves it: pongs (string and msgpack), client statistics into
// the rtcd_rtc_client_* histograms, the signaling lock the client takes
// before it renegotiates, SDP in both directions when the session joined
// with `dcSignaling`, and the MediaMap sent before each offer of ours.
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { SctpDataChannel } from "./datachannel.ts";
import { RateLimiter } from "../api/ratelimit.ts";
import {
  DCMessageError,
  DCType,
  decodeDCFrame,
  encodeDCMessage,
  inflateSDP,
  type MediaMap,
} from "./dc-msg.ts";

// How long a client may hold the signaling lock before we take it back.
const MAX_CLIENT_LOCK_MS = 10_000;

// calls-dc messages per second and session, over a burst: the Calls client
// sends a ping every second, its statistics every few seconds and a lock,
// an SDP and an unlock per renegotiation. Beyond it messages are dropped
// (as a lossy network would) before they are decoded.
export const CALLS_DC_RATE_PER_SECOND = 50;
export const CALLS_DC_BURST = 100;

export interface CallsDCHooks {
  // The channel opened (first time only).
  opened(): void;
  // An offer or answer the client sent over the channel.
  sdp(desc: unknown): void;
  // The client asks for the signaling lock; the plane decides (it must not
  // be in the middle of an offer of its own) and calls reply().
  lock(reply: (granted: boolean) => void): void;
  // The client released the lock it held.
  unlocked(): void;
}

export class CallsDC {
  // Set by create(), before any event can arrive.
  private link!: SctpDataChannel;
  private readonly metrics: Metrics;
  private readonly groupID: string;
  private readonly log: Logger;
  private readonly createdAt = Date.now();
  // The client holds the signaling lock: offers of ours wait.
  clientLocked = false;
  private lockedAt = 0;
  private lockTimer: NodeJS.Timeout | undefined;
  private readonly rate = new RateLimiter(CALLS_DC_RATE_PER_SECOND, CALLS_DC_BURST);
  private dropped = 0;

  private constructor(metrics: Metrics, groupID: string, log: Logger) {
    this.metrics = metrics;
    this.groupID = groupID;
    this.log = log;
  }

  static async create(
    router: ms.Router,
    transport: ms.WebRtcTransport,
    hooks: CallsDCHooks,
    metrics: Metrics,
    groupID: string,
    log: Logger,
  ): Promise<CallsDC> {
    const self = new CallsDC(metrics, groupID, log);
    self.link = await SctpDataChannel.create(
      router,
      transport,
      {
        open: () => {
          // rtcd measures from the start of its session handling to the
          // channel's open; ours from the offer that brought the data section.
          metrics.rtcDCOpenTime.observe({ groupID }, (Date.now() - self.createdAt) / 1000);
          hooks.opened();
        },
        message: (data) => self.onMessage(data, hooks),
        admit: () => self.admit(),
      },
      log,
    );
    return self;
  }

  get isOpen(): boolean {
    return this.link.isOpen;
  }

  sendSDP(desc: { type: string; sdp: string }): boolean {
    return this.link.send(encodeDCMessage({ type: DCType.SDP, sdp: desc }));
  }

  sendMediaMap(map: MediaMap): boolean {
    return this.link.send(encodeDCMessage({ type: DCType.MediaMap, map }));
  }

  // The lock the client held ends with the session or a glare resolution.
  releaseClientLock(): void {
    if (!this.clientLocked) return;
    clearTimeout(this.lockTimer);
    this.clientLocked = false;
    this.metrics.rtcSignalingLockLockedTime.observe(
      { groupID: this.groupID },
      (Date.now() - this.lockedAt) / 1000,
    );
  }

  close(): void {
    clearTimeout(this.lockTimer);
    this.link.close();
  }

  private admit(): boolean {
    if (this.rate.reserve(0) !== undefined) return true;
    this.metrics.limitRefusals.inc({ limit: "calls_dc_rate" });
    // One warning per session, not one per dropped message.
    if (this.dropped++ === 0)
      this.log.warn("media: calls-dc over its rate, dropping messages", {
        perSecond: CALLS_DC_RATE_PER_SECOND,
        burst: CALLS_DC_BURST,
      });
    return false;
  }

  private async onMessage(data: string | Buffer, hooks: CallsDCHooks): Promise<void> {
    // Older clients (calls-common 0.27.x, mobile) speak plain strings.
    if (typeof data === "string") {
      if (data === "ping") this.link.send("pong");
      else if (data !== "pong") this.log.debug("media: unexpected string on calls-dc", { len: data.length });
      return;
    }
    let msg;
    try {
      const f = decodeDCFrame(data);
      msg = f.type === DCType.SDP ? { type: f.type, sdp: await inflateSDP(f.payload) } : f;
    } catch (err) {
      // One bad message costs only itself, as in rtcd.
      if (err instanceof DCMessageError) {
        this.log.debug("media: bad calls-dc message", { err: err.message });
        return;
      }
      throw err;
    }
    switch (msg.type) {
      case DCType.Ping:
        this.link.send(encodeDCMessage({ type: DCType.Pong }));
        return;
      case DCType.SDP:
        hooks.sdp(msg.sdp);
        return;
      case DCType.LossRate:
        this.metrics.rtcClientLoss.observe({ groupID: this.groupID }, msg.value);
        return;
      case DCType.RoundTripTime:
        this.metrics.rtcClientRTT.observe({ groupID: this.groupID }, msg.value);
        return;
      case DCType.Jitter:
        this.metrics.rtcClientJitter.observe({ groupID: this.groupID }, msg.value);
        return;
      case DCType.Lock:
        hooks.lock((granted) => {
          if (granted && !this.clientLocked) {
            this.clientLocked = true;
            this.lockedAt = Date.now();
            // A client that never unlocks must not hold our offers back
            // for good (rtcd drops the track after 5 s instead).
            this.lockTimer = setTimeout(() => {
              this.log.warn("media: client held the signaling lock too long, released");
              this.releaseClientLock();
              hooks.unlocked();
            }, MAX_CLIENT_LOCK_MS);
          }
          this.link.send(encodeDCMessage({ type: DCType.Lock, granted }));
        });
        return;
      case DCType.Unlock:
        if (!this.clientLocked) {
          this.log.debug("media: unlock without the lock held");
          return;
        }
        this.releaseClientLock();
        hooks.unlocked();
        return;
      default:
        // Pong, MediaMap: only ever sent by us.
        return;
    }
  }
}
