// One client's session: its WebRtcTransport, the offer/answer exchange
// (negotiation.ts) run through a serial queue, its producers (what the client
// sends) and consumers (what it receives), its calls-dc, mute and screen
// state and its timers. It tells its call what changes for the others
// (CallHost); the call is what looks across sessions.
// About 400 lines: the signaling state machine reads best in one place; its
// pure parts (negotiation.ts, client-section.ts) and the transport, calls-dc
// and producer bookkeeping already live in files of their own.
import { randomBytes } from "node:crypto";
import type { types as ms } from "mediasoup";
import { RTCType, type MediaEvents, type RTCMessage, type SessionConfig } from "../calls/media.ts";
import type { Logger } from "../log.ts";
import type { Metrics, RtcErrorType } from "../metrics.ts";
import type { CallRouter } from "./call-router.ts";
import { consumerMedia, dataSection, isDataSection, mediaMap } from "./client-section.ts";
import { ClientTracks, type TracksHost } from "./client-tracks.ts";
import { forwards, supportsAV1, type MediaSection, type ProducerInfo } from "./forwarding.ts";
import { SimulcastLayers } from "./layer-control.ts";
import { Negotiation } from "./negotiation.ts";
import { parseSdp, SdpError, transportParams, writeSdp, type LocalMedia, type MediaDesc } from "./sdp.ts";
import { announcedIp, consumerCaps, json, localTransport, parseJSON } from "./sdp-mapping.ts";
import { SessionDC } from "./session-dc.ts";
import { countConsumer, createTransport, watchTransport } from "./session-transport.ts";
import { SIGNAL_QUEUE_MAX, SIGNAL_RATE_PER_SECOND, SignalQueue } from "./signal-queue.ts";

// What a session tells its call (call.ts).
export interface CallHost extends Omit<TracksHost, "levels"> {
  // The session closed (its transport and tracks are closed).
  left(s: Session): void;
  // Makes a track consumable on the session's router (a pipe from its
  // sender's worker); false when it cannot be.
  reach(p: ProducerInfo, at: CallRouter): Promise<boolean>;
  // Its first offer is answered: it is to receive what already flows.
  joined(s: Session): Promise<void>;
  muted(s: Session): void;
}

export interface SessionDeps {
  metrics: Metrics;
  layers: SimulcastLayers;
  signalingTimeoutMs: number;
  iceDisconnectTimeoutMs: number;
  connectTimeoutMs: number;
  producersPerSession: number;
}

type Via = "ws" | "dc";

export class Session {
  readonly cfg: SessionConfig;
  readonly log: Logger;
  private readonly events: MediaEvents;
  private readonly call: CallHost;
  // The call's router on this session's worker.
  private readonly place: CallRouter;
  private readonly transport: ms.WebRtcTransport;
  private readonly deps: SessionDeps;
  private readonly onClosed: (s: Session) => void;
  private readonly neg = new Negotiation<ProducerInfo, ms.Consumer>(
    String(BigInt.asUintN(62, randomBytes(8).readBigUInt64BE())),
  );
  private readonly queue = new SignalQueue(
    () => this.done,
    (err: unknown) => {
      if (err instanceof SdpError) this.fail("signaling", `bad SDP: ${err.message}`);
      else this.fail("signaling", String(err instanceof Error ? err.message : err));
    },
  );
  private done = false;
  private connected = false;
  private caps: ms.RtpCapabilities | undefined;
  private readonly createdAt = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly dc = new SessionDC();
  private readonly tracks: ClientTracks;
  // When our outstanding offer went out (the server side of the lock), and
  // since when an offer of ours has been waiting for the client's lock.
  private offeredAt = 0;
  private lockWaitSince = 0;
  // Producers being consumed for this session right now (consume() awaits
  // the worker, and the newcomer's catch-up can race a sender's new track).
  private readonly consuming = new Set<string>();

  private constructor(
    cfg: SessionConfig,
    events: MediaEvents,
    log: Logger,
    call: CallHost,
    place: CallRouter,
    transport: ms.WebRtcTransport,
    deps: SessionDeps,
    closed: (s: Session) => void,
  ) {
    this.onClosed = closed;
    this.place = place;
    this.cfg = cfg;
    this.events = events;
    this.log = log;
    this.call = call;
    this.transport = transport;
    this.deps = deps;
    const host: TracksHost = {
      levels: place.levels,
      producerLive: (p) => call.producerLive(p),
      producerClosed: (p) => call.producerClosed(p),
    };
    this.tracks = new ClientTracks(this, transport, host, deps.metrics, log, deps.producersPerSession);
    watchTransport(transport, {
      metrics: deps.metrics,
      groupID: cfg.GroupID,
      createdAt: this.createdAt,
      iceDisconnectTimeoutMs: deps.iceDisconnectTimeoutMs,
      connectTimeoutMs: deps.connectTimeoutMs,
      timer: (t) => this.timers.push(t),
      connected: () => log.debug("media: connected"),
      fail: (type, reason) => this.fail(type, reason),
    });
    this.timers.push(
      setTimeout(() => {
        if (this.neg.awaitingFirstOffer) this.fail("signaling", "timed out waiting for the client's offer");
      }, deps.signalingTimeoutMs),
    );
  }

  static async open(
    call: CallHost,
    place: CallRouter,
    cfg: SessionConfig,
    events: MediaEvents,
    log: Logger,
    deps: SessionDeps,
    closed: (s: Session) => void,
  ): Promise<Session> {
    const transport = await createTransport(place.router, place.slot.server);
    return new Session(cfg, events, log, call, place, transport, deps, closed);
  }

  get id(): string {
    return this.cfg.SessionID;
  }

  get isClosed(): boolean {
    return this.done;
  }

  get awaitingFirstOffer(): boolean {
    return this.neg.awaitingFirstOffer;
  }

  // For the forwarding rules (forwarding.ts's Sender).
  get sections(): readonly MediaSection[] {
    return this.neg.sections;
  }

  producers(): ProducerInfo[] {
    return this.neg.sections.flatMap((sec) => (sec.producer ? [sec.producer] : []));
  }

  // Open producers and consumers in its sections (tests, benchmarks).
  counts(): { producers: number; consumers: number } {
    let producers = 0;
    let consumers = 0;
    for (const sec of this.neg.sections) {
      if (sec.producer && !sec.producer.producer.closed) producers++;
      if (sec.consumer && !sec.consumer.closed) consumers++;
    }
    return { producers, consumers };
  }

  // One of its unmuted voice tracks is among `loud` producer IDs.
  speaksIn(loud: ReadonlySet<string>): boolean {
    return (
      !this.tracks.isMuted && this.producers().some((p) => p.type === "voice" && loud.has(p.producer.id))
    );
  }

  notify(type: number): void {
    this.events.send({ type, data: new Uint8Array(0) });
  }

  // Signaling from the client, handled in order. We are ICE-lite: the
  // client's candidates are not needed (its checks reach our announced
  // candidates), so they are not even queued.
  signal(msg: RTCMessage): void {
    if (this.done || msg.type === RTCType.ICE) return;
    if (msg.type !== RTCType.SDP) return this.fromClient(() => this.handle(msg));
    const desc = parseJSON(msg.data);
    this.fromClient(() => this.onSdp(desc, "ws"), isOffer(desc));
  }

  // The session cannot go on: tell the control plane, which forgets it and
  // sends `close` to the plugin. Other sessions are untouched.
  fail(type: RtcErrorType, reason: string): void {
    if (this.done) return;
    this.log.warn("media: ending session", { reason });
    this.deps.metrics.rtcError(this.cfg.GroupID, type);
    this.close();
    void Promise.resolve().then(() => this.events.ended(reason));
  }

  // Closes its tracks (what others received from it goes away at theirs),
  // calls-dc and transport, then tells its call.
  close(): void {
    if (this.done) return;
    this.done = true;
    for (const t of this.timers) clearTimeout(t);
    for (const p of this.producers()) this.tracks.close(p);
    for (const c of this.neg.consumers()) if (!c.closed) c.close();
    this.dc.close();
    this.transport.close();
    this.call.left(this);
    this.onClosed(this);
  }

  // Receives `p` (once per producer), in the next offer of ours.
  async consume(p: ProducerInfo): Promise<void> {
    if (this.done || p.producer.closed || !this.caps || !forwards(p, this)) return;
    const id = p.producer.id;
    if (this.consuming.has(id) || this.neg.has(id)) return;
    this.consuming.add(id);
    let consumer: ms.Consumer;
    try {
      // From another worker, the track is piped to ours first (same ID).
      if (!(await this.call.reach(p, this.place)) || this.done || p.producer.closed) return;
      if (!this.place.router.canConsume({ producerId: id, rtpCapabilities: this.caps })) {
        this.log.warn("media: cannot consume, no common codec", { producerId: id });
        return;
      }
      consumer = await this.transport.consume({
        producerId: id,
        rtpCapabilities: this.caps,
        // Nothing reaches the client before it has answered the offer that
        // names this track: an early packet makes the client (pion) guess a
        // section for the unknown SSRC, build a track with an empty ID that
        // the Calls client drops, and then ignore the SSRC for good when the
        // offer arrives. Resumed in onAnswer (rtcd's pion sends nothing
        // before the answer is applied either).
        paused: true,
        ...(p.producer.type === "simulcast" ? { preferredLayers: SimulcastLayers.initial } : {}),
        appData: { type: p.type, from: p.owner.cfg.SessionID },
      });
    } finally {
      this.consuming.delete(id);
    }
    countConsumer(consumer, this.deps.metrics, this.cfg.GroupID, this.place.slot);
    if (this.done) {
      consumer.close();
      return;
    }
    this.deps.layers.add(consumer, this.log.with({ from: p.owner.cfg.SessionID }), this.transport);
    const media = consumerMedia(consumer, p.type, p.owner.cfg.SessionID);
    this.neg.queue({ origin: "server", consumer, media });
    this.enqueue(() => this.maybeOffer());
  }

  // Stops receiving `producerId` (closed, or replaced by its AV1 twin).
  dropConsumersOf(producerId: string): void {
    const dropped = this.neg.dropConsumersOf(producerId);
    if (!dropped) return;
    for (const c of dropped) if (!c.closed) c.close();
    this.enqueue(() => this.maybeOffer());
  }

  // ---- signaling ----

  private enqueue(fn: () => Promise<void> | void): void {
    this.queue.add(fn);
  }

  // A client's message (WebSocket or calls-dc): past the queue's bounds the
  // client is flooding us, and its session ends.
  private fromClient(fn: () => Promise<void> | void, offer = false): void {
    if (this.done) return;
    const over = this.queue.client(fn, offer);
    if (!over) return;
    const limit = { queued: SIGNAL_QUEUE_MAX, perSecond: SIGNAL_RATE_PER_SECOND };
    this.log.warn("media: client floods its signaling, ending the session", { bound: over, ...limit });
    this.deps.metrics.limitRefusals.inc({ limit: over });
    this.fail("signaling", `signaling flood (${over})`);
  }

  private async handle(msg: RTCMessage): Promise<void> {
    switch (msg.type) {
      case RTCType.Mute:
      case RTCType.Unmute:
        await this.tracks.mute(msg.type === RTCType.Mute);
        if (msg.type === RTCType.Mute) this.call.muted(this);
        return;
      case RTCType.ScreenOn: {
        const d = parseJSON(msg.data) as { screenStreamID?: unknown } | undefined;
        this.tracks.screenOn(typeof d?.screenStreamID === "string" ? d.screenStreamID : "");
        return;
      }
      case RTCType.ScreenOff:
        this.tracks.screenOff();
        return;
      case RTCType.VideoOn:
      case RTCType.VideoOff:
        return;
      default:
        this.log.debug("media: ignoring rtc message", { type: msg.type });
    }
  }

  // An offer or answer from the client, over the WebSocket or calls-dc; an
  // answer of ours goes back the same way (as in rtcd).
  private onSdp(d: unknown, via: Via): Promise<void> {
    const desc = d as { type?: unknown; sdp?: unknown } | undefined;
    if (!desc || typeof desc.sdp !== "string") throw new SdpError("SDP message without an sdp string");
    if (desc.type === "offer") return this.onOffer(desc.sdp, via);
    if (desc.type === "answer") return this.onAnswer(desc.sdp);
    throw new SdpError(`unexpected SDP type ${String(desc.type)}`);
  }

  private sendSdp(type: "offer" | "answer", version: number, media: LocalMedia[], via: Via): void {
    const sdp = writeSdp(
      this.neg.sessionId,
      version,
      localTransport(this.transport, this.neg.dtlsSetup, this.place.slot.announcedPorts),
      media,
      announcedIp(this.transport),
    );
    if (via === "dc" && this.dc.sendSDP({ type, sdp })) return;
    this.events.send({ type: RTCType.SDP, data: json({ type, sdp }) });
  }

  private async onOffer(sdp: string, via: Via): Promise<void> {
    const offer = parseSdp(sdp);
    const tp = transportParams(offer);
    if (this.neg.clientOffer() === "ignore") {
      // As rtcd: the client answers ours first, then offers again.
      this.log.debug("media: signaling conflict, ignoring the client's offer while ours is out");
      return;
    }
    if (!this.connected) {
      // The client's role: it is the DTLS server when it says passive, or
      // when it lets us choose (actpass), so that mediasoup starts the
      // handshake as the DTLS client.
      const role: ms.DtlsRole = tp.setup === "active" ? "client" : "server";
      this.neg.dtlsSetup = role === "client" ? "passive" : "active";
      await this.transport.connect({
        dtlsParameters: {
          role,
          fingerprints: [
            { algorithm: tp.fingerprint.algorithm as ms.FingerprintAlgorithm, value: tp.fingerprint.value },
          ],
        },
      });
      this.connected = true;
    }
    this.caps ??= consumerCaps(this.place.router.rtpCapabilities, offer.media, supportsAV1(this.cfg));
    for (let i = 0; i < offer.media.length; i++) {
      const md = offer.media[i]!;
      const sec = this.neg.sectionAt(i, md);
      if (sec.origin === "server") {
        // Ours; the client may only have stopped it.
        if (md.port === 0) this.neg.drop(sec)?.close();
        continue;
      }
      await this.applyClientSection(sec, md);
    }
    const answer = this.neg.answer();
    this.sendSdp("answer", answer.version, answer.media, via);
    if (answer.first) await this.call.joined(this);
    this.maybeOffer();
  }

  private async onAnswer(sdp: string): Promise<void> {
    const answer = parseSdp(sdp);
    const answered = this.neg.offeredConsumers();
    const dropped = this.neg.applyAnswer(answer.media);
    if (dropped === false) {
      this.log.debug("media: answer without an outstanding offer, ignored");
      return;
    }
    for (const c of dropped) if (!c.closed) c.close();
    // The client now knows these tracks: media may flow (a video consumer
    // asks its producer for a key frame as it resumes).
    for (const c of answered) if (!c.closed && c.paused) await c.resume();
    this.deps.metrics.rtcSignalingLockLockedTime.observe(
      { groupID: this.cfg.GroupID },
      (Date.now() - this.offeredAt) / 1000,
    );
    this.maybeOffer();
  }

  // Sends our offer when something changed and none is outstanding.
  private maybeOffer(): void {
    if (this.done || this.neg.offerOutstanding || this.neg.awaitingFirstOffer) return;
    if (this.dc.holdsOffers) return;
    if (this.dc.clientLocked) {
      // The client is renegotiating: ours goes out after its unlock.
      if (!this.lockWaitSince && this.neg.pending) this.lockWaitSince = Date.now();
      return;
    }
    const offer = this.neg.takeOffer();
    if (!offer) return;
    const now = Date.now();
    this.deps.metrics.rtcSignalingLockGrabTime.observe(
      { groupID: this.cfg.GroupID },
      this.lockWaitSince ? (now - this.lockWaitSince) / 1000 : 0,
    );
    this.lockWaitSince = 0;
    this.offeredAt = now;
    // rtcd sends the MediaMap just before each offer of its own.
    this.dc.sendMediaMap(() => mediaMap(this.neg.sections));
    this.sendSdp("offer", offer.version, offer.media, this.cfg.Props.dcSignaling === true ? "dc" : "ws");
  }

  // ---- the client's sections: producers and calls-dc ----

  // A section the client created: (re)create its producer when it sends.
  private async applyClientSection(sec: MediaSection, md: MediaDesc): Promise<void> {
    this.tracks.closeStale(sec, md);
    if (isDataSection(md)) {
      // The client's calls-dc (see calls-dc.ts, datachannel.ts).
      await this.openDataChannel();
      sec.media = dataSection(md);
      return;
    }
    await this.tracks.apply(sec, md);
  }

  private openDataChannel(): Promise<void> {
    return this.dc.want(
      this.place.router,
      this.transport,
      {
        opened: () => this.enqueue(() => this.maybeOffer()),
        sdp: (desc) => this.fromClient(() => this.onSdp(desc, "dc"), isOffer(desc)),
        // Granted unless an offer of ours is outstanding or the client
        // already holds it (rtcd's TryLock).
        lock: (reply) => this.fromClient(() => reply(!this.neg.offerOutstanding && !this.dc.clientLocked)),
        unlocked: () => this.enqueue(() => this.maybeOffer()),
        waitOver: () => this.enqueue(() => this.maybeOffer()),
      },
      this.deps.metrics,
      this.cfg.GroupID,
      this.log,
      (t) => this.timers.push(t),
    );
  }
}

function isOffer(desc: unknown): boolean {
  return (desc as { type?: unknown } | undefined)?.type === "offer";
}
