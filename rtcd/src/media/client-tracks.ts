// What a client sends: a Producer per sending section of its offers, its
// mute and screen-share state. A producer is offered to the rest of the
// call once it carries RTP, and its closing is told to the call (which
// takes it away from the viewers): the session's producer bookkeeping,
// apart from the offer/answer it shares its sections with.
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { answerMedia, sends, ssrcKey } from "./client-section.ts";
import { trackMime } from "./codecs.ts";
import type { MediaSection, ProducerInfo, Sender } from "./forwarding.ts";
import { SdpError, type MediaDesc } from "./sdp.ts";

// What the tracks tell the call (call.ts).
export interface TracksHost {
  readonly levels: ms.AudioLevelObserver;
  producerLive(p: ProducerInfo): void;
  producerClosed(p: ProducerInfo): void;
}

export class ClientTracks {
  private readonly owner: Sender;
  private readonly transport: ms.WebRtcTransport;
  private readonly call: TracksHost;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly maxProducers: number;
  private muted = false;
  // The stream the client announced as its screen share (ScreenOn).
  private screenStreamID = "";
  private readonly told = new WeakSet<ProducerInfo>();

  constructor(
    owner: Sender,
    transport: ms.WebRtcTransport,
    call: TracksHost,
    metrics: Metrics,
    log: Logger,
    maxProducers: number,
  ) {
    this.maxProducers = maxProducers;
    this.owner = owner;
    this.transport = transport;
    this.call = call;
    this.metrics = metrics;
    this.log = log;
  }

  get isMuted(): boolean {
    return this.muted;
  }

  // The section stopped sending, or sends another stream: its producer goes.
  closeStale(sec: MediaSection, md: MediaDesc): void {
    if (sec.producer && (!sends(md) || sec.producer.ssrcKey !== ssrcKey(md))) {
      this.close(sec.producer);
      sec.producer = undefined;
    }
  }

  // Answers a client's audio or video section; a new producer when it sends.
  async apply(sec: MediaSection, md: MediaDesc): Promise<void> {
    const { cfg } = this.owner;
    const a = answerMedia(md, this.screenStreamID, cfg.SessionID);
    if (a.noCodec) {
      this.log.warn("media: rejecting a section without a supported codec", { mid: md.mid, kind: md.kind });
      this.metrics.rtcError(cfg.GroupID, "codec");
    }
    sec.media = a.media;
    if (!a.produce || sec.producer) return;
    const sending = this.owner.sections.filter((x) => x.producer && !x.producer.producer.closed).length;
    if (sending >= this.maxProducers) {
      this.metrics.limitRefusals.inc({ limit: "producers_per_session" });
      // An SdpError: the media plane ends this session with it (and the
      // producers it made), as for an offer over the SDP limits.
      throw new SdpError(
        `the offer sends more than ${this.maxProducers} tracks (limits.producers_per_session)`,
      );
    }
    const { kind, type, rtpParameters } = a.produce;
    const producer = await this.transport.produce({
      kind,
      rtpParameters,
      paused: type === "voice" && this.muted,
      appData: { sessionID: cfg.SessionID, type },
    });
    const info: ProducerInfo = {
      producer,
      owner: this.owner,
      type,
      mid: md.mid,
      ssrcKey: ssrcKey(md),
      live: false,
    };
    sec.producer = info;
    await this.offerOnFirstRtp(info);
    // rtcd labels tracks with their MIME type (audio/opus, video/VP8).
    const labels = { groupID: cfg.GroupID, direction: "in", type: trackMime(rtpParameters) };
    this.metrics.rtpTracks.inc(labels);
    producer.observer.once("close", () => this.metrics.rtpTracks.dec(labels));
    if (kind === "audio" && type === "voice") await this.call.levels.addProducer({ producerId: producer.id });
    this.log.debug("media: producing", { mid: md.mid, kind, type, producerId: producer.id });
  }

  /**
   * Offers a producer to the rest of the call once its first RTP packet
   * arrives (mediasoup's "rtp" trace, switched off again at once, so the
   * per-packet cost is paid for one packet).
   */
  private async offerOnFirstRtp(p: ProducerInfo): Promise<void> {
    p.producer.on("trace", (trace) => {
      if (trace.type !== "rtp" || p.live) return;
      p.live = true;
      p.producer.enableTraceEvent([]).catch(() => undefined);
      this.call.producerLive(p);
    });
    await p.producer.enableTraceEvent(["rtp"]);
  }

  // Closes `p` and tells the call, once. A producer can be closed already
  // when its worker died: the call still has to take it from the viewers
  // on other workers.
  close(p: ProducerInfo): void {
    if (this.told.has(p)) return;
    this.told.add(p);
    if (!p.producer.closed) p.producer.close();
    this.call.producerClosed(p);
  }

  // Mute/Unmute pause/resume the voice producers.
  async mute(muted: boolean): Promise<void> {
    this.muted = muted;
    for (const sec of this.owner.sections) {
      const p = sec.producer;
      if (!p || p.type !== "voice" || p.producer.closed) continue;
      if (muted) await p.producer.pause();
      else await p.producer.resume();
    }
  }

  screenOn(streamID: string): void {
    this.screenStreamID = streamID;
  }

  // ScreenOff closes the screen's producers.
  screenOff(): void {
    for (const sec of this.owner.sections) {
      const p = sec.producer;
      if (p && (p.type === "screen" || p.type === "screen-audio")) {
        this.close(p);
        sec.producer = undefined;
      }
    }
    this.screenStreamID = "";
  }
}
