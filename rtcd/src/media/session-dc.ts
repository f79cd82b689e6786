// A session's calls-dc (calls-dc.ts), opened when the client's offer has a
// data section. Like rtcd, offers of ours wait until it is open (it carries
// the signaling lock), but only for DC_WAIT_MS: a client whose channel never
// opens still gets media (rtcd would send it nothing).
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { CallsDC, type CallsDCHooks } from "./calls-dc.ts";
import { DC_WAIT_MS } from "./codecs.ts";
import type { MediaMap } from "./dc-msg.ts";

export interface SessionDCHooks extends CallsDCHooks {
  // DC_WAIT_MS passed: offers of ours go out with or without the channel.
  waitOver(): void;
}

export class SessionDC {
  private dc: CallsDC | undefined;
  private wanted = false;
  private waitOver = false;

  // An offer of ours must wait for the channel to open.
  get holdsOffers(): boolean {
    return this.wanted && !this.dc?.isOpen && !this.waitOver;
  }

  // The client holds the signaling lock: it is renegotiating.
  get clientLocked(): boolean {
    return this.dc?.clientLocked ?? false;
  }

  // The client's offer has a data section: open the channel (once).
  async want(
    router: ms.Router,
    transport: ms.WebRtcTransport,
    hooks: SessionDCHooks,
    metrics: Metrics,
    groupID: string,
    log: Logger,
    timer: (t: NodeJS.Timeout) => void,
  ): Promise<void> {
    this.wanted = true;
    if (this.dc) return;
    this.dc = await CallsDC.create(router, transport, hooks, metrics, groupID, log);
    timer(
      setTimeout(() => {
        this.waitOver = true;
        if (!this.dc?.isOpen) log.warn("media: calls-dc did not open, offering without it");
        hooks.waitOver();
      }, DC_WAIT_MS),
    );
  }

  // False when the channel cannot carry it (the WebSocket does then).
  sendSDP(desc: { type: string; sdp: string }): boolean {
    return this.dc?.sendSDP(desc) ?? false;
  }

  sendMediaMap(map: () => MediaMap): void {
    if (this.dc?.isOpen) this.dc.sendMediaMap(map());
  }

  close(): void {
    this.dc?.close();
  }
}
