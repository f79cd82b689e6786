// The mediasoup media plane: mediasoup workers, a Router per call, one
// WebRtcTransport per session on a WebRtcServer (all sessions of a worker
// share its UDP/TCP port, like rtcd's single ICE port), producers for what a
// client sends and consumers for what it receives, with the SDP offer/answer
// exchange rtcd's clients expect translated to and from mediasoup's RTP
// parameters (sdp.ts).
//
// Negotiation, per session:
// - the client offers first (its microphone, screen...); we answer, creating
//   a Producer per sending section;
// - each Producer of a call is consumed by every other session of the call;
//   a new Consumer becomes a new sendonly section in an offer we send
//   (server-initiated renegotiation), with rtcd's stream ID (the sender's
//   session ID) and track ID (`voice_<sessionID>_<8 chars>`...);
// - one offer of ours is outstanding at a time; if the client's offer
//   crosses ours (glare), ours is withdrawn, the client's answered, and ours
//   re-sent after.
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import * as mediasoup from "mediasoup";
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import {
  RTCType,
  type MediaEvents,
  type MediaPlane,
  type RTCMessage,
  type SessionConfig,
} from "../calls/media.ts";
import { listenAddresses } from "./addresses.ts";
import { CallsDC } from "./calls-dc.ts";
import { installConsumerExtensionIds } from "./consumer-ext-ids.ts";
import { SimulcastLayers } from "./layer-control.ts";
import { forwards, pickCodec, producerMime, supportsAV1, vp8Twin } from "./forwarding.ts";
import type { MediaMap, TrackType } from "./dc-msg.ts";
import { parseSdp, SdpError, transportParams, writeSdp, type MediaDesc } from "./sdp.ts";
import {
  announcedIp,
  answerCodec,
  consumerCaps,
  fromMsCodec,
  json,
  localTransport,
  parseJSON,
  randomID,
  rejectedSection,
  toMsCodec,
} from "./sdp-mapping.ts";
import {
  DC_WAIT_MS,
  MEDIA_CODECS,
  SUPPORTED_EXTENSIONS,
  type CallState,
  type PeerSession,
  type ProducerInfo,
  type Section,
  type WorkerSlot,
} from "./session-state.ts";
import { assertPatchedWorker, resolveWorkerBin } from "./worker-bin.ts";
import { pickWorker, WorkerLoadSampler } from "./worker-load.ts";

// One UDP socket carries every client's media, and the kernel's default
// buffer (about 208 KiB) overflows in bursts (a screen share's keyframe into
// a busy worker): measured 0.7-3.8 % audio loss at 2 x 50 users with a screen
// share. rtcd asks for 16 MiB too; the kernel caps it at net.core.rmem_max /
// wmem_max, which hosts running rtcd should raise.
const UDP_SOCKET_BUFFER_BYTES = 16 * 1024 * 1024;

export interface MediasoupPlaneOptions {
  workers: number;
  udpAddresses: string;
  udpPort: number;
  tcpAddresses: string;
  tcpPort: number;
  hostOverride: string;
  portOverride: string;
  workerBin?: string;
  logLevel?: ms.WorkerLogLevel;
  // Beyond rtcd: how long a session may wait for the client's first offer,
  // and how long ICE may stay disconnected before the session is ended.
  signalingTimeoutMs?: number;
  iceDisconnectTimeoutMs?: number;
}

export class MediasoupPlane implements MediaPlane {
  readonly name = "mediasoup";
  private readonly slots: WorkerSlot[] = [];
  private readonly calls = new Map<string, CallState>();
  private readonly sessions = new Map<string, PeerSession>();
  private readonly opts: Required<Omit<MediasoupPlaneOptions, "workerBin">> & { workerBin?: string };
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private closing = false;
  private readonly load = new WorkerLoadSampler();
  private readonly layers = new SimulcastLayers();

  constructor(opts: MediasoupPlaneOptions, metrics: Metrics, log: Logger) {
    this.opts = {
      logLevel: "warn",
      signalingTimeoutMs: 10_000, // rtcd: signalingTimeout
      iceDisconnectTimeoutMs: 5_000,
      ...opts,
      workers: opts.workers > 0 ? opts.workers : availableParallelism(),
    };
    this.metrics = metrics;
    this.log = log;
  }

  async start(): Promise<void> {
    installConsumerExtensionIds();
    const workerBin = this.opts.workerBin ?? resolveWorkerBin();
    assertPatchedWorker(workerBin);
    for (let i = 0; i < this.opts.workers; i++) {
      // mediasoup closes its workers on the process's SIGINT/SIGTERM, which
      // would cut every running call at the start of a drain: the listeners
      // it adds are removed again, draining (calls/drain.ts) decides.
      const before = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
      const worker = await mediasoup.createWorker({
        workerBin,
        logLevel: this.opts.logLevel,
        logTags: ["info", "ice", "dtls", "srtp"],
      });
      for (const sig of ["SIGINT", "SIGTERM"] as const)
        for (const l of process.listeners(sig)) if (!before[sig].includes(l)) process.removeListener(sig, l);
      const listenInfos: ms.TransportListenInfo[] = [];
      // Worker i serves port + i: one worker keeps rtcd's single port; more
      // workers need the range opened (the kernel cannot steer a client's
      // packets to the worker that holds its transport).
      for (const a of listenAddresses(this.opts.udpAddresses, this.opts.hostOverride, this.opts.portOverride))
        listenInfos.push({
          protocol: "udp",
          ...a,
          port: this.opts.udpPort + i,
          recvBufferSize: UDP_SOCKET_BUFFER_BYTES,
          sendBufferSize: UDP_SOCKET_BUFFER_BYTES,
        });
      for (const a of listenAddresses(this.opts.tcpAddresses, this.opts.hostOverride, this.opts.portOverride))
        listenInfos.push({ protocol: "tcp", ...a, port: this.opts.tcpPort + i });
      const server = await worker.createWebRtcServer({ listenInfos });
      const slot: WorkerSlot = { worker, server, sessions: 0, index: i, cpuSeconds: 0, recent: 0 };
      worker.on("died", (err) => this.onWorkerDied(slot, err));
      this.slots.push(slot);
      this.log.info("media: mediasoup worker started", {
        pid: worker.pid,
        udp: `${this.opts.udpPort + i}`,
        tcp: `${this.opts.tcpPort + i}`,
        addresses: listenInfos.map(
          (l) => `${l.protocol}/${l.ip}${l.announcedAddress ? `->${l.announcedAddress}` : ""}`,
        ),
      });
    }
    this.load.start(this.slots);
    this.layers.start();
  }

  // ---- MediaPlane ----

  cpuSeconds(): number {
    return this.slots.reduce((sum, s) => sum + s.cpuSeconds, 0);
  }

  async openSession(cfg: SessionConfig, events: MediaEvents): Promise<void> {
    if (this.closing) throw new Error("media plane closing");
    const call = await this.callFor(cfg);
    const transport = await call.router.createWebRtcTransport({
      webRtcServer: call.slot.server,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      // Without consent checks for this long ICE is "disconnected"; with the
      // grace below a vanished client is ended after about 25 s, close to
      // rtcd's (pion's 5 s disconnected + 25 s failed).
      iceConsentTimeout: 20,
      enableSctp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
    });
    const s: PeerSession = {
      cfg,
      events,
      log: this.log.with({ sessionID: cfg.SessionID, callID: cfg.CallID }),
      call,
      transport,
      sections: [],
      offered: undefined,
      toOffer: [],
      sdpVersion: 0,
      sdpSessionId: String(BigInt.asUintN(62, randomBytes(8).readBigUInt64BE())),
      connected: false,
      firstOffer: true,
      muted: false,
      screenStreamID: "",
      caps: undefined,
      queue: Promise.resolve(),
      closed: false,
      createdAt: Date.now(),
      timers: [],
      midCounter: 0,
      dirty: false,
      dtlsSetup: "active",
      dc: undefined,
      wantsDC: false,
      dcWaitOver: false,
      offeredAt: 0,
      lockWaitSince: 0,
      consuming: new Set(),
    };
    call.sessions.set(cfg.SessionID, s);
    call.slot.sessions++;
    this.sessions.set(cfg.SessionID, s);
    this.watchTransport(s);
    s.timers.push(
      setTimeout(() => {
        if (s.firstOffer && !s.closed) this.fail(s, "signaling", "timed out waiting for the client's offer");
      }, this.opts.signalingTimeoutMs),
    );
  }

  signal(sessionID: string, msg: RTCMessage): void {
    const s = this.sessions.get(sessionID);
    if (!s || s.closed) return;
    this.enqueue(s, () => this.handle(s, msg));
  }

  async closeSession(sessionID: string): Promise<void> {
    const s = this.sessions.get(sessionID);
    if (s) await this.teardown(s);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const s of [...this.sessions.values()]) await this.teardown(s);
    this.load.stop();
    this.layers.stop();
    for (const slot of this.slots) slot.worker.close();
    this.slots.length = 0;
  }

  // ---- introspection (tests, benchmarks, /system) ----

  counts(): { workers: number; routers: number; transports: number; producers: number; consumers: number } {
    let producers = 0;
    let consumers = 0;
    for (const s of this.sessions.values())
      for (const sec of s.sections) {
        if (sec.producer && !sec.producer.producer.closed) producers++;
        if (sec.consumer && !sec.consumer.closed) consumers++;
      }
    return {
      workers: this.slots.length,
      routers: this.calls.size,
      transports: this.sessions.size,
      producers,
      consumers,
    };
  }

  // What the workers themselves hold (asks them over their channel).
  async workerCounts(): Promise<{
    routers: number;
    transports: number;
    producers: number;
    consumers: number;
  }> {
    const out = { routers: 0, transports: 0, producers: 0, consumers: 0 };
    for (const slot of this.slots) {
      const dump = await slot.worker.dump();
      out.routers += dump.routerIds.length;
    }
    for (const call of this.calls.values()) {
      const d = await call.router.dump();
      out.transports += d.transportIds.length;
      out.producers += d.mapProducerIdConsumerIds.length;
      out.consumers += d.mapConsumerIdProducerId.length;
    }
    return out;
  }

  workerPids(): number[] {
    return this.slots.map((s) => s.worker.pid);
  }

  // ---- internals ----

  private enqueue(s: PeerSession, fn: () => Promise<void> | void): void {
    s.queue = s.queue
      .then(() => (s.closed ? undefined : fn()))
      .catch((err: unknown) => {
        if (err instanceof SdpError) this.fail(s, "signaling", `bad SDP: ${err.message}`);
        else this.fail(s, "signaling", String(err instanceof Error ? err.message : err));
      });
  }

  private async callFor(cfg: SessionConfig): Promise<CallState> {
    const key = `${cfg.GroupID}\u0000${cfg.CallID}`;
    let call = this.calls.get(key);
    if (call) return call;
    const slot = this.leastLoaded();
    const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const levels = await router.createAudioLevelObserver({ maxEntries: 64, threshold: -60, interval: 400 });
    // Another join of the same call may have raced us here.
    const raced = this.calls.get(key);
    if (raced) {
      router.close();
      return raced;
    }
    call = { key, slot, router, levels, sessions: new Map(), speaking: new Set() };
    this.calls.set(key, call);
    const c = call;
    levels.on("volumes", (volumes) => this.onVolumes(c, new Set(volumes.map((v) => v.producer.id))));
    levels.on("silence", () => this.onVolumes(c, new Set()));
    this.log.debug("media: call router created", { callID: cfg.CallID, worker: slot.index });
    return call;
  }

  private leastLoaded(): WorkerSlot {
    return pickWorker(this.slots);
  }

  // Per worker: CPU seconds used, recent CPU share, sessions (tests, /system).
  workerLoads(): { pid: number; cpuSeconds: number; recent: number; sessions: number }[] {
    return this.slots.map((s) => ({
      pid: s.worker.pid,
      cpuSeconds: s.cpuSeconds,
      recent: s.recent,
      sessions: s.sessions,
    }));
  }

  private onWorkerDied(slot: WorkerSlot, err: Error): void {
    this.log.error("media: mediasoup worker died", { pid: slot.worker.pid, err: err.message });
    for (const s of [...this.sessions.values()])
      if (s.call.slot === slot) this.fail(s, "worker", "mediasoup worker died");
  }

  private watchTransport(s: PeerSession): void {
    const t = s.transport;
    let disconnectTimer: NodeJS.Timeout | undefined;
    t.on("icestatechange", (state) => {
      if (state === "connected" || state === "completed") {
        clearTimeout(disconnectTimer);
        disconnectTimer = undefined;
      } else if (state === "disconnected" && !disconnectTimer) {
        this.metrics.rtcConnStates.inc({ type: "disconnected" });
        disconnectTimer = setTimeout(
          () => this.fail(s, "ice", "ICE disconnected for too long"),
          this.opts.iceDisconnectTimeoutMs,
        );
        s.timers.push(disconnectTimer);
      }
    });
    t.on("dtlsstatechange", (state) => {
      if (state === "connected") {
        this.metrics.rtcConnStates.inc({ type: "connected" });
        this.metrics.rtcConnectionTime.observe({ groupID: s.cfg.GroupID }, (Date.now() - s.createdAt) / 1000);
        s.log.debug("media: connected");
      } else if (state === "failed" || state === "closed") {
        this.metrics.rtcConnStates.inc({ type: state });
        this.fail(s, "dtls", `DTLS ${state}`);
      }
    });
  }

  // The session cannot go on: tell the control plane, which forgets it and
  // sends `close` to the plugin. Other sessions are untouched.
  private fail(s: PeerSession, type: string, reason: string): void {
    if (s.closed) return;
    s.log.warn("media: ending session", { reason });
    this.metrics.rtcErrors.inc({ groupID: s.cfg.GroupID, type });
    void this.teardown(s).then(() => s.events.ended(reason));
  }

  private async teardown(s: PeerSession): Promise<void> {
    if (s.closed) return;
    s.closed = true;
    for (const t of s.timers) clearTimeout(t);
    this.sessions.delete(s.cfg.SessionID);
    const call = s.call;
    call.sessions.delete(s.cfg.SessionID);
    call.slot.sessions--;
    // What others received from this session goes away at theirs.
    for (const sec of s.sections) if (sec.producer) this.closeProducer(sec.producer);
    for (const sec of [...s.sections, ...(s.offered ?? []), ...s.toOffer]) {
      if (sec.consumer && !sec.consumer.closed) {
        sec.consumer.close();
        this.metrics.rtpTracks.dec({ groupID: s.cfg.GroupID, direction: "out", type: sec.consumer.kind });
      }
    }
    s.dc?.close();
    s.transport.close();
    if (call.sessions.size === 0 && this.calls.get(call.key) === call) {
      this.calls.delete(call.key);
      call.router.close();
      this.log.debug("media: call router closed", { callID: s.cfg.CallID });
    }
  }

  private async handle(s: PeerSession, msg: RTCMessage): Promise<void> {
    switch (msg.type) {
      case RTCType.SDP:
        return this.onSdp(s, parseJSON(msg.data), "ws");
      case RTCType.ICE:
        // We are ICE-lite: the client's candidates are not needed, its
        // checks reach our announced candidates.
        return;
      case RTCType.Mute:
      case RTCType.Unmute: {
        s.muted = msg.type === RTCType.Mute;
        for (const sec of s.sections) {
          const p = sec.producer;
          if (!p || p.type !== "voice" || p.producer.closed) continue;
          if (s.muted) await p.producer.pause();
          else await p.producer.resume();
        }
        if (s.muted && s.call.speaking.delete(s.cfg.SessionID))
          s.events.send({ type: RTCType.VoiceOff, data: new Uint8Array(0) });
        return;
      }
      case RTCType.ScreenOn: {
        const d = parseJSON(msg.data) as { screenStreamID?: unknown } | undefined;
        s.screenStreamID = typeof d?.screenStreamID === "string" ? d.screenStreamID : "";
        return;
      }
      case RTCType.ScreenOff: {
        for (const sec of s.sections) {
          const p = sec.producer;
          if (p && (p.type === "screen" || p.type === "screen-audio")) {
            this.closeProducer(p);
            sec.producer = undefined;
          }
        }
        s.screenStreamID = "";
        return;
      }
      case RTCType.VideoOn:
      case RTCType.VideoOff:
        return;
      default:
        s.log.debug("media: ignoring rtc message", { type: msg.type });
    }
  }

  // An offer or answer from the client, over the WebSocket or calls-dc; an
  // answer of ours goes back the same way (as in rtcd).
  private onSdp(s: PeerSession, d: unknown, via: "ws" | "dc"): Promise<void> {
    const desc = d as { type?: unknown; sdp?: unknown } | undefined;
    if (!desc || typeof desc.sdp !== "string") throw new SdpError("SDP message without an sdp string");
    if (desc.type === "offer") return this.onOffer(s, desc.sdp, via);
    if (desc.type === "answer") return this.onAnswer(s, desc.sdp);
    throw new SdpError(`unexpected SDP type ${String(desc.type)}`);
  }

  private sendSdp(s: PeerSession, desc: { type: "offer" | "answer"; sdp: string }, via: "ws" | "dc"): void {
    if (via === "dc" && s.dc?.sendSDP(desc)) return;
    s.events.send({ type: RTCType.SDP, data: json(desc) });
  }

  private async openDataChannel(s: PeerSession): Promise<void> {
    s.dc = await CallsDC.create(
      s.call.router,
      s.transport,
      {
        opened: () => this.enqueue(s, () => this.maybeOffer(s)),
        sdp: (desc) => this.enqueue(s, () => this.onSdp(s, desc, "dc")),
        // Granted unless an offer of ours is outstanding or the client
        // already holds it (rtcd's TryLock).
        lock: (reply) => this.enqueue(s, () => reply(!s.offered && !s.dc?.clientLocked)),
        unlocked: () => this.enqueue(s, () => this.maybeOffer(s)),
      },
      this.metrics,
      s.cfg.GroupID,
      s.log,
    );
    s.timers.push(
      setTimeout(() => {
        s.dcWaitOver = true;
        if (!s.dc?.isOpen) s.log.warn("media: calls-dc did not open, offering without it");
        this.enqueue(s, () => this.maybeOffer(s));
      }, DC_WAIT_MS),
    );
  }

  private async onOffer(s: PeerSession, sdp: string, via: "ws" | "dc"): Promise<void> {
    const offer = parseSdp(sdp);
    const tp = transportParams(offer);
    if (s.offered) {
      // Glare: the client offered while ours was in flight. Withdraw ours
      // (its sections go back to the queue) and answer theirs.
      s.log.debug("media: offer glare, re-offering after the client's offer");
      s.toOffer.unshift(...s.offered);
      s.offered = undefined;
    }
    if (!s.connected) {
      // The client's role: it is the DTLS server when it says passive, or
      // when it lets us choose (actpass), so that mediasoup starts the
      // handshake as the DTLS client.
      const role: ms.DtlsRole = tp.setup === "active" ? "client" : "server";
      s.dtlsSetup = role === "client" ? "passive" : "active";
      await s.transport.connect({
        dtlsParameters: {
          role,
          fingerprints: [
            { algorithm: tp.fingerprint.algorithm as ms.FingerprintAlgorithm, value: tp.fingerprint.value },
          ],
        },
      });
      s.connected = true;
    }
    if (!s.caps) s.caps = consumerCaps(s.call.router.rtpCapabilities, offer.media, supportsAV1(s.cfg));
    for (let i = 0; i < offer.media.length; i++) {
      const md = offer.media[i]!;
      let sec = s.sections[i];
      if (sec && sec.media.mid !== md.mid) throw new SdpError(`m-line ${i} changed its mid`);
      if (!sec) {
        sec = { media: rejectedSection(md), origin: "client" };
        s.sections.push(sec);
      }
      if (sec.origin === "server") {
        // Ours; the client may only have stopped it.
        if (md.port === 0) this.dropConsumer(s, sec);
        continue;
      }
      await this.applyClientSection(s, sec, md);
    }
    const ip = announcedIp(s.transport);
    const answer = writeSdp(
      s.sdpSessionId,
      ++s.sdpVersion,
      localTransport(s.transport, s.dtlsSetup),
      s.sections.map((x) => x.media),
      ip,
    );
    this.sendSdp(s, { type: "answer", sdp: answer }, via);
    if (s.firstOffer) {
      s.firstOffer = false;
      // Everything already flowing in this call, for the newcomer.
      for (const other of s.call.sessions.values()) {
        if (other === s) continue;
        for (const sec of other.sections) {
          const p = sec.producer;
          if (p && p.live && !p.producer.closed) await this.addConsumer(s, p);
        }
      }
    }
    this.maybeOffer(s);
  }

  /**
   * Offers a producer to the rest of the call once its first RTP packet
   * arrives (mediasoup's "rtp" trace, switched off again at once, so the
   * per-packet cost is paid for one packet).
   */
  private async offerOnFirstRtp(p: ProducerInfo): Promise<void> {
    const s = p.owner;
    p.producer.on("trace", (trace) => {
      if (trace.type !== "rtp" || p.live) return;
      p.live = true;
      p.producer.enableTraceEvent([]).catch(() => undefined);
      for (const other of s.call.sessions.values()) {
        if (other === s || other.firstOffer || other.closed) continue;
        // An AV1 track replaces its VP8 twin at the viewers that take AV1.
        const twin = producerMime(p) === "video/av1" ? vp8Twin(p) : undefined;
        if (twin && supportsAV1(other.cfg)) this.dropConsumersOf(other, twin.producer.id);
        this.addConsumer(other, p).catch((err: unknown) =>
          other.log.warn("media: consuming a new track failed", { error: String(err) }),
        );
      }
    });
    await p.producer.enableTraceEvent(["rtp"]);
  }

  // A section the client created: (re)create its producer when it sends.
  private async applyClientSection(
    s: PeerSession,
    sec: Section,
    md: MediaDesc,
  ): Promise<ProducerInfo | undefined> {
    const sends = md.port !== 0 && (md.direction === "sendrecv" || md.direction === "sendonly");
    const ssrcKey = md.ssrcs.map((x) => x.ssrc).join(",") + "|" + md.rids.map((r) => r.id).join(",");
    if (sec.producer && (!sends || sec.producer.ssrcKey !== ssrcKey)) {
      this.closeProducer(sec.producer);
      sec.producer = undefined;
    }
    if (md.port !== 0 && md.kind === "application" && md.proto.includes("SCTP")) {
      // The client's calls-dc (see calls-dc.ts, datachannel.ts).
      s.wantsDC = true;
      if (!s.dc) await this.openDataChannel(s);
      sec.media = {
        kind: "application",
        mid: md.mid,
        port: 7,
        proto: md.proto,
        direction: "sendrecv",
        codecs: [],
        extensions: [],
        sctpPort: 5000,
      };
      return undefined;
    }
    if (md.port === 0 || (md.kind !== "audio" && md.kind !== "video")) {
      sec.media = rejectedSection(md);
      return undefined;
    }
    const codec = pickCodec(md);
    if (!codec) {
      s.log.warn("media: rejecting a section without a supported codec", { mid: md.mid, kind: md.kind });
      this.metrics.rtcErrors.inc({ groupID: s.cfg.GroupID, type: "codec" });
      sec.media = rejectedSection(md);
      return undefined;
    }
    const rtx = md.codecs.find(
      (c) => c.name.toLowerCase() === "rtx" && Number(c.fmtp["apt"]) === codec.payloadType,
    );
    const extensions = md.extensions.filter((e) => SUPPORTED_EXTENSIONS.has(e.uri));
    const simulcastRids = md.rids.filter((r) => r.direction === "send").map((r) => r.id);
    sec.media = {
      kind: md.kind,
      mid: md.mid,
      port: 7,
      proto: "UDP/TLS/RTP/SAVPF",
      direction: sends ? "recvonly" : "inactive",
      codecs: [answerCodec(codec), ...(rtx ? [answerCodec(rtx)] : [])],
      extensions,
      ...(simulcastRids.length > 1 ? { simulcastRecv: { rids: simulcastRids } } : {}),
    };
    if (!sends || sec.producer) return undefined;
    if (md.ssrcs.length === 0 && simulcastRids.length === 0) return undefined;

    const stream = md.msid?.stream ?? md.ssrcs.find((x) => x.msid)?.msid?.split(" ")[0] ?? "";
    const type: TrackType =
      md.kind === "audio"
        ? s.screenStreamID && stream === s.screenStreamID
          ? "screen-audio"
          : "voice"
        : s.screenStreamID && stream === s.screenStreamID
          ? "screen"
          : "video";
    const cname = md.ssrcs.find((x) => x.cname)?.cname ?? s.cfg.SessionID;
    let encodings: ms.RtpEncodingParameters[];
    if (simulcastRids.length > 1) {
      // mediasoup wants the lowest quality first; rtcd's RIDs are h and l.
      const order = (r: string) => (r === "l" ? 0 : r === "m" ? 1 : r === "h" ? 2 : 3);
      encodings = [...simulcastRids].sort((a, b) => order(a) - order(b)).map((rid) => ({ rid }));
    } else {
      const fid = md.fid[0];
      const primary = fid ? fid[0] : md.ssrcs[0]!.ssrc;
      encodings = [{ ssrc: primary, ...(fid ? { rtx: { ssrc: fid[1] } } : {}) }];
    }
    const rtpParameters: ms.RtpParameters = {
      mid: md.mid,
      codecs: [toMsCodec(md.kind, codec), ...(rtx ? [toMsCodec(md.kind, rtx)] : [])],
      headerExtensions: extensions.map((e) => ({ uri: e.uri as ms.RtpHeaderExtensionUri, id: e.id })),
      encodings,
      rtcp: { cname, reducedSize: true },
    };
    const producer = await s.transport.produce({
      kind: md.kind,
      rtpParameters,
      paused: type === "voice" && s.muted,
      appData: { sessionID: s.cfg.SessionID, type },
    });
    const info: ProducerInfo = { producer, owner: s, type, mid: md.mid, ssrcKey, live: false };
    sec.producer = info;
    await this.offerOnFirstRtp(info);
    this.metrics.rtpTracks.inc({ groupID: s.cfg.GroupID, direction: "in", type: md.kind });
    if (md.kind === "audio" && type === "voice") await s.call.levels.addProducer({ producerId: producer.id });
    s.log.debug("media: producing", { mid: md.mid, kind: md.kind, type, producerId: producer.id });
    return info;
  }

  private closeProducer(p: ProducerInfo): void {
    if (p.producer.closed) return;
    p.producer.close();
    this.metrics.rtpTracks.dec({ groupID: p.owner.cfg.GroupID, direction: "in", type: p.producer.kind });
    if (p.owner.call.speaking.delete(p.owner.cfg.SessionID) && !p.owner.closed)
      p.owner.events.send({ type: RTCType.VoiceOff, data: new Uint8Array(0) });
    // Consumers close with it ("producerclose"); the viewers' sections go
    // inactive in their next offer.
    for (const other of p.owner.call.sessions.values())
      if (other !== p.owner) this.dropConsumersOf(other, p.producer.id);
    // Without its AV1 track, the sender's VP8 one goes to the AV1 viewers.
    const twin = producerMime(p) === "video/av1" ? vp8Twin(p) : undefined;
    if (twin?.live)
      for (const other of p.owner.call.sessions.values())
        if (other !== p.owner && !other.firstOffer && !other.closed && supportsAV1(other.cfg))
          this.addConsumer(other, twin).catch((err: unknown) =>
            other.log.warn("media: consuming a VP8 track failed", { error: String(err) }),
          );
  }

  private dropConsumersOf(s: PeerSession, producerId: string): void {
    const all = [...s.sections, ...s.toOffer];
    if (!all.some((sec) => sec.consumer?.producerId === producerId)) return;
    for (const sec of all) if (sec.consumer?.producerId === producerId) this.dropConsumer(s, sec);
    s.toOffer = s.toOffer.filter((sec) => sec.consumer);
    this.enqueue(s, () => this.maybeOffer(s));
  }

  private dropConsumer(s: PeerSession, sec: Section): void {
    if (sec.consumer) {
      if (!sec.consumer.closed) sec.consumer.close();
      this.metrics.rtpTracks.dec({ groupID: s.cfg.GroupID, direction: "out", type: sec.consumer.kind });
      sec.consumer = undefined;
    }
    const { send: _send, ...rest } = sec.media;
    sec.media = { ...rest, direction: "inactive" };
    if (sec.origin === "server") s.dirty = true;
  }

  private async addConsumer(s: PeerSession, p: ProducerInfo): Promise<void> {
    if (s.closed || p.producer.closed || !s.caps || !forwards(p, s)) return;
    // The newcomer's catch-up and a sender's new producer can race to the
    // same pair; one consumer per producer and viewer.
    const id = p.producer.id;
    if (s.consuming.has(id)) return;
    if ([...s.sections, ...s.toOffer, ...(s.offered ?? [])].some((x) => x.consumer?.producerId === id))
      return;
    if (!s.call.router.canConsume({ producerId: p.producer.id, rtpCapabilities: s.caps })) {
      s.log.warn("media: cannot consume, no common codec", { producerId: p.producer.id });
      return;
    }
    s.consuming.add(id);
    let consumer: ms.Consumer;
    try {
      consumer = await s.transport.consume({
        producerId: p.producer.id,
        rtpCapabilities: s.caps,
        paused: false,
        ...(p.producer.type === "simulcast" ? { preferredLayers: SimulcastLayers.initial } : {}),
        appData: { type: p.type, from: p.owner.cfg.SessionID },
      });
    } finally {
      s.consuming.delete(id);
    }
    if (s.closed) {
      consumer.close();
      return;
    }
    this.metrics.rtpTracks.inc({ groupID: s.cfg.GroupID, direction: "out", type: consumer.kind });
    this.layers.add(consumer, s.log.with({ from: p.owner.cfg.SessionID }));
    const rp = consumer.rtpParameters;
    const enc = rp.encodings?.[0];
    if (!enc?.ssrc) throw new Error("consumer without an SSRC");
    const sec: Section = {
      origin: "server",
      consumer,
      media: {
        kind: consumer.kind,
        mid: "", // assigned when offered
        port: 7,
        proto: "UDP/TLS/RTP/SAVPF",
        direction: "sendonly",
        codecs: rp.codecs.map(fromMsCodec),
        extensions: (rp.headerExtensions ?? []).map((e) => ({ id: e.id, uri: e.uri })),
        send: {
          ssrc: enc.ssrc,
          ...(enc.rtx?.ssrc ? { rtxSsrc: enc.rtx.ssrc } : {}),
          cname: rp.rtcp?.cname ?? p.owner.cfg.SessionID,
          stream: p.owner.cfg.SessionID,
          track: `${p.type}_${p.owner.cfg.SessionID}_${randomID(8)}`,
        },
      },
    };
    s.toOffer.push(sec);
    this.enqueue(s, () => this.maybeOffer(s));
  }

  // Sends our offer when something changed and none is outstanding.
  private maybeOffer(s: PeerSession): void {
    if (s.closed || s.offered || s.firstOffer) return;
    if (s.wantsDC && !s.dc?.isOpen && !s.dcWaitOver) return;
    if (s.dc?.clientLocked) {
      // The client is renegotiating: ours goes out after its unlock.
      if (!s.lockWaitSince && (s.toOffer.length || s.dirty)) s.lockWaitSince = Date.now();
      return;
    }
    const adds = s.toOffer.filter((sec) => sec.consumer && !sec.consumer.closed);
    s.toOffer = [];
    if (adds.length === 0 && !s.dirty) return;
    s.dirty = false;
    for (const sec of adds) {
      // Reuse an inactive section of ours of the same kind, else a new mid.
      const reuse = s.sections.find(
        (x) => x.origin === "server" && !x.consumer && x.media.kind === sec.media.kind && x.media.port !== 0,
      );
      if (reuse) {
        reuse.consumer = sec.consumer;
        reuse.media = { ...sec.media, mid: reuse.media.mid };
        continue;
      }
      sec.media.mid = this.nextMid(s);
      s.sections.push(sec);
    }
    s.offered = adds;
    const ip = announcedIp(s.transport);
    const offer = writeSdp(
      s.sdpSessionId,
      ++s.sdpVersion,
      localTransport(s.transport, s.dtlsSetup),
      s.sections.map((x) => x.media),
      ip,
    );
    const now = Date.now();
    this.metrics.rtcSignalingLockGrabTime.observe(
      { groupID: s.cfg.GroupID },
      s.lockWaitSince ? (now - s.lockWaitSince) / 1000 : 0,
    );
    s.lockWaitSince = 0;
    s.offeredAt = now;
    // rtcd sends the MediaMap just before each offer of its own.
    if (s.dc?.isOpen) s.dc.sendMediaMap(this.mediaMap(s));
    this.sendSdp(s, { type: "offer", sdp: offer }, s.cfg.Props.dcSignaling === true ? "dc" : "ws");
  }

  // mid -> what we send on it and whose it is. rtcd v1.2.6 puts the
  // receiving session's own ID in sender_id; we put the sender's.
  private mediaMap(s: PeerSession): MediaMap {
    const map: MediaMap = {};
    for (const sec of s.sections) {
      const c = sec.consumer;
      if (sec.origin !== "server" || !c || c.closed) continue;
      const app = c.appData as { type?: TrackType; from?: string };
      if (app.type && app.from) map[sec.media.mid] = { type: app.type, sender_id: app.from };
    }
    return map;
  }

  private nextMid(s: PeerSession): string {
    const used = new Set(s.sections.map((x) => x.media.mid));
    let mid: string;
    do mid = `s${s.midCounter++}`;
    while (used.has(mid));
    return mid;
  }

  private async onAnswer(s: PeerSession, sdp: string): Promise<void> {
    const answer = parseSdp(sdp);
    if (!s.offered) {
      s.log.debug("media: answer without an outstanding offer, ignored");
      return;
    }
    for (const md of answer.media) {
      const sec = s.sections.find((x) => x.media.mid === md.mid);
      if (sec?.origin === "server" && md.port === 0) this.dropConsumer(s, sec);
    }
    s.offered = undefined;
    this.metrics.rtcSignalingLockLockedTime.observe(
      { groupID: s.cfg.GroupID },
      (Date.now() - s.offeredAt) / 1000,
    );
    this.maybeOffer(s);
  }

  private onVolumes(call: CallState, loud: Set<string>): void {
    const nowSpeaking = new Set<string>();
    for (const s of call.sessions.values())
      for (const sec of s.sections)
        if (sec.producer?.type === "voice" && loud.has(sec.producer.producer.id) && !s.muted)
          nowSpeaking.add(s.cfg.SessionID);
    for (const id of nowSpeaking)
      if (!call.speaking.has(id)) {
        call.speaking.add(id);
        call.sessions.get(id)?.events.send({ type: RTCType.VoiceOn, data: new Uint8Array(0) });
      }
    for (const id of [...call.speaking])
      if (!nowSpeaking.has(id)) {
        call.speaking.delete(id);
        call.sessions.get(id)?.events.send({ type: RTCType.VoiceOff, data: new Uint8Array(0) });
      }
  }
}
