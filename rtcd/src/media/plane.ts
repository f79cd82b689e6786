// The mediasoup media plane (calls/media.ts's MediaPlane), split by entity
// the way mediasoup is: a WorkerPool of workers (worker-pool.ts), a Call per
// call (call.ts) with a router on each worker holding its sessions
// (call-router.ts), a Session per client with its transport,
// producers and consumers (session.ts), and the offer/answer bookkeeping as
// pure code (negotiation.ts). This facade finds the call and session a
// message is for, and answers the tests' and benchmarks' introspection.
import { availableParallelism } from "node:os";
import type { types as ms } from "mediasoup";
import type { MediaEvents, MediaPlane, RTCMessage, SessionConfig } from "../calls/media.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { Call } from "./call.ts";
import { installConsumerExtensionIds } from "./consumer-ext-ids.ts";
import { SimulcastLayers } from "./layer-control.ts";
import { Session, type SessionDeps } from "./session.ts";
import { assertPatchedWorker, resolveWorkerBin } from "./worker-bin.ts";
import { WorkerPool, type WorkerSlot } from "./worker-pool.ts";

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
  // How long a session may take from its transport to a DTLS connection
  // (rtcd: pion's ICE failed timeout, 25 s, after the checks start).
  connectTimeoutMs?: number;
  // limits.producers_per_session: tracks one session may send at once.
  producersPerSession?: number;
  // media.consumers_per_worker: a call's new sessions stay on its worker
  // until it holds this many consumers, then go to the least loaded one.
  consumersPerWorker?: number;
}

export class MediasoupPlane implements MediaPlane {
  readonly name = "mediasoup";
  private readonly calls = new Map<string, Call>();
  private readonly sessions = new Map<string, Session>();
  private readonly opts: Required<Omit<MediasoupPlaneOptions, "workerBin">> & { workerBin?: string };
  private readonly log: Logger;
  private readonly layers = new SimulcastLayers();
  private readonly deps: SessionDeps;
  private readonly metrics: Metrics;
  private pool: WorkerPool | undefined;
  private closing = false;

  constructor(opts: MediasoupPlaneOptions, metrics: Metrics, log: Logger) {
    this.opts = {
      logLevel: "warn",
      signalingTimeoutMs: 10_000, // rtcd: signalingTimeout
      iceDisconnectTimeoutMs: 5_000,
      connectTimeoutMs: 30_000,
      producersPerSession: 8,
      consumersPerWorker: 500,
      ...opts,
      workers: opts.workers > 0 ? opts.workers : availableParallelism(),
    };
    this.log = log;
    this.metrics = metrics;
    this.deps = {
      metrics,
      layers: this.layers,
      signalingTimeoutMs: this.opts.signalingTimeoutMs,
      iceDisconnectTimeoutMs: this.opts.iceDisconnectTimeoutMs,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      producersPerSession: this.opts.producersPerSession,
    };
  }

  async start(): Promise<void> {
    installConsumerExtensionIds();
    const workerBin = this.opts.workerBin ?? resolveWorkerBin();
    assertPatchedWorker(workerBin);
    this.pool = new WorkerPool({ ...this.opts, workerBin }, this.log, {
      died: (slot) => this.workerDied(slot),
      failed: (index) =>
        this.log.error("media: no mediasoup worker could be started, failing the probes", {
          worker: index,
          port: this.opts.udpPort + index,
        }),
    });
    await this.pool.start();
    this.layers.start();
  }

  // ---- MediaPlane ----

  cpuSeconds(): number {
    return this.pool?.cpuSeconds() ?? 0;
  }

  healthy(): boolean {
    return this.pool?.healthy ?? true;
  }

  async openSession(cfg: SessionConfig, events: MediaEvents): Promise<void> {
    if (this.closing) throw new Error("media plane closing");
    if (!this.pool) throw new Error("media plane not started");
    const call = this.callFor(cfg);
    let slot: WorkerSlot;
    try {
      slot = this.pool.place(call.hosting(), this.opts.consumersPerWorker);
    } catch (err) {
      call.abandoned();
      throw err;
    }
    const place = await call.reserve(slot);
    const log = this.log.with({ sessionID: cfg.SessionID, callID: cfg.CallID, worker: slot.index });
    let s: Session;
    try {
      s = await Session.open(call, place, cfg, events, log, this.deps, (gone) => {
        if (this.sessions.get(gone.id) === gone) this.sessions.delete(gone.id);
      });
    } catch (err) {
      call.release(place);
      throw err;
    }
    call.add(s, place);
    this.sessions.set(s.id, s);
  }

  signal(sessionID: string, msg: RTCMessage): void {
    this.sessions.get(sessionID)?.signal(msg);
  }

  async closeSession(sessionID: string): Promise<void> {
    this.sessions.get(sessionID)?.close();
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const s of [...this.sessions.values()]) s.close();
    this.layers.stop();
    this.pool?.close();
  }

  // ---- introspection (tests, benchmarks, /system) ----

  counts(): { workers: number; routers: number; transports: number; producers: number; consumers: number } {
    let producers = 0;
    let consumers = 0;
    for (const s of this.sessions.values()) {
      const c = s.counts();
      producers += c.producers;
      consumers += c.consumers;
    }
    let routers = 0;
    for (const call of this.calls.values()) routers += call.callRouters().length;
    return {
      workers: this.pool?.size ?? 0,
      routers,
      transports: this.sessions.size,
      producers,
      consumers,
    };
  }

  // What the workers themselves hold (asks them over their channel). The
  // pipes between a call's routers are in these counts: a pipe transport on
  // each side, a pipe consumer at the sender's and a producer at the viewers'.
  async workerCounts(): Promise<{
    routers: number;
    transports: number;
    producers: number;
    consumers: number;
  }> {
    const out = { routers: 0, transports: 0, producers: 0, consumers: 0 };
    for (const worker of this.pool?.workers() ?? []) out.routers += (await worker.dump()).routerIds.length;
    for (const call of this.calls.values())
      for (const r of call.callRouters()) {
        if (r.closed) continue;
        const d = await r.router.dump();
        out.transports += d.transportIds.length;
        out.producers += d.mapProducerIdConsumerIds.length;
        out.consumers += d.mapConsumerIdProducerId.length;
      }
    return out;
  }

  // Each call's routers: the worker (index), the call's sessions there and
  // the pipe transports linking it to the call's other routers.
  callRouters(): { callID: string; worker: number; sessions: number; pipes: number }[] {
    const out: { callID: string; worker: number; sessions: number; pipes: number }[] = [];
    for (const call of this.calls.values())
      for (const r of call.callRouters())
        out.push({
          callID: call.key.slice(call.key.indexOf("\u0000") + 1),
          worker: r.slot.index,
          sessions: r.sessions,
          pipes: r.pipes,
        });
    return out;
  }

  workerPids(): number[] {
    return this.pool?.pids() ?? [];
  }

  // Per worker: CPU seconds used, recent CPU share, sessions (tests, /system).
  workerLoads(): { pid: number; cpuSeconds: number; recent: number; sessions: number; consumers: number }[] {
    return this.pool?.loads() ?? [];
  }

  // ---- internals ----

  private callFor(cfg: SessionConfig): Call {
    const key = `${cfg.GroupID}\u0000${cfg.CallID}`;
    const existing = this.calls.get(key);
    if (existing && !existing.ended) return existing;
    const call = new Call(key, this.log.with({ callID: cfg.CallID }), (c) => {
      if (this.calls.get(c.key) === c) this.calls.delete(c.key);
    });
    this.calls.set(key, call);
    return call;
  }

  // A dead worker's sessions end (their clients get `close` and rejoin
  // through the plugin, landing on a live worker); the rest of their calls
  // go on on the other workers; the pool starts a new worker in its place.
  private workerDied(slot: WorkerSlot): void {
    this.metrics.mediaWorkerDeaths.inc();
    for (const call of [...this.calls.values()]) call.workerDied(slot);
  }
}
