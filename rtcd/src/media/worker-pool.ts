// The mediasoup workers: each with a WebRtcServer (all sessions of a worker
// share its UDP/TCP port, like rtcd's single ICE port), load sampling, the
// choice of a worker for a new session, and a dead worker's replacement on the
// same port (or, when none can be started, a pool that says it is broken).
import * as mediasoup from "mediasoup";
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import { announcedPorts, listenAddresses, type AnnouncedPorts, type ListenAddress } from "./addresses.ts";
import { placeSession, WorkerLoadSampler, type SessionPlaceable } from "./worker-load.ts";

// One UDP socket carries every client's media, and the kernel's default
// buffer (about 208 KiB) overflows in bursts (a screen share's keyframe into
// a busy worker): measured 0.7-3.8 % audio loss at 2 x 50 users with a screen
// share. rtcd asks for 16 MiB too; the kernel caps it at net.core.rmem_max /
// wmem_max, which hosts running rtcd should raise.
const UDP_SOCKET_BUFFER_BYTES = 16 * 1024 * 1024;

export interface WorkerSlot extends SessionPlaceable {
  worker: ms.Worker;
  server: ms.WebRtcServer;
  // ice_host_port_override's ports, for the candidates in our SDP.
  announcedPorts: AnnouncedPorts;
  index: number;
  // False once its worker died: no new call is placed on it.
  alive: boolean;
}

export interface WorkerPoolOptions {
  workers: number;
  workerBin: string;
  logLevel: ms.WorkerLogLevel;
  udpAddresses: string;
  udpPort: number;
  tcpAddresses: string;
  tcpPort: number;
  hostOverride: string;
  portOverride: string;
}

// A dead worker is replaced at once; a failed start is retried after 250 ms,
// 500 ms, 1 s and 2 s (about 4 s in all), then given up: what cannot start
// five times in a row (binary gone, port taken by someone else, out of
// memory) will not start by waiting, and a restart of the pod is the cure.
export const WORKER_RESTART_DELAYS_MS = [0, 250, 500, 1000, 2000];

export interface WorkerPoolEvents {
  // A worker died (after it is logged). Its routers, transports, producers
  // and consumers are gone with it; the owner ends what it had placed there.
  died(slot: WorkerSlot): void;
  // No worker could be started in a dead one's place: the pool is broken.
  failed(index: number): void;
}

export class WorkerPool {
  private readonly slots: WorkerSlot[] = [];
  private readonly load = new WorkerLoadSampler();
  private readonly opts: WorkerPoolOptions;
  private readonly log: Logger;
  private readonly events: WorkerPoolEvents;
  private readonly delays: readonly number[];
  // CPU seconds of workers that died, so that the total (/system's load)
  // never goes back when a fresh worker starts from zero.
  private deadCpuSeconds = 0;
  private broken = false;
  private closed = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(
    opts: WorkerPoolOptions,
    log: Logger,
    events: WorkerPoolEvents,
    delays: readonly number[] = WORKER_RESTART_DELAYS_MS,
  ) {
    this.opts = opts;
    this.log = log;
    this.events = events;
    this.delays = delays;
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.opts.workers; i++) this.slots.push(await this.startWorker(i));
    this.load.start(this.slots);
  }

  // False once a dead worker could not be replaced (the probes fail).
  get healthy(): boolean {
    return !this.broken;
  }

  private async startWorker(i: number): Promise<WorkerSlot> {
    // mediasoup closes its workers on the process's SIGINT/SIGTERM, which
    // would cut every running call at the start of a drain: the listeners
    // it adds are removed again, draining (calls/drain.ts) decides.
    const before = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
    const worker = await mediasoup.createWorker({
      workerBin: this.opts.workerBin,
      logLevel: this.opts.logLevel,
      logTags: ["info", "ice", "dtls", "srtp"],
    });
    for (const sig of ["SIGINT", "SIGTERM"] as const)
      for (const l of process.listeners(sig)) if (!before[sig].includes(l)) process.removeListener(sig, l);
    // Worker i serves port + i: one worker keeps rtcd's single port; more
    // workers need the range opened (the kernel cannot steer a client's
    // packets to the worker that holds its transport).
    const sockets: (ListenAddress & { protocol: "udp" | "tcp"; port: number })[] = [
      ...listenAddresses(this.opts.udpAddresses, this.opts.hostOverride, this.opts.portOverride).map((a) => ({
        ...a,
        protocol: "udp" as const,
        port: this.opts.udpPort + i,
      })),
      ...listenAddresses(this.opts.tcpAddresses, this.opts.hostOverride, this.opts.portOverride).map((a) => ({
        ...a,
        protocol: "tcp" as const,
        port: this.opts.tcpPort + i,
      })),
    ];
    const listenInfos: ms.TransportListenInfo[] = sockets.map(({ announcedPort: _, ...l }) =>
      l.protocol === "udp"
        ? { ...l, recvBufferSize: UDP_SOCKET_BUFFER_BYTES, sendBufferSize: UDP_SOCKET_BUFFER_BYTES }
        : l,
    );
    let server: ms.WebRtcServer;
    try {
      server = await worker.createWebRtcServer({ listenInfos });
    } catch (err) {
      worker.close();
      throw err;
    }
    const slot: WorkerSlot = {
      worker,
      server,
      announcedPorts: announcedPorts(sockets),
      sessions: 0,
      consumers: 0,
      index: i,
      cpuSeconds: 0,
      recent: 0,
      alive: true,
    };
    worker.on("died", (err) => {
      this.log.error("media: mediasoup worker died", { pid: worker.pid, worker: i, err: err.message });
      this.onDied(slot);
    });
    this.log.info("media: mediasoup worker started", {
      pid: worker.pid,
      udp: `${this.opts.udpPort + i}`,
      tcp: `${this.opts.tcpPort + i}`,
      addresses: sockets.map(
        (l) =>
          `${l.protocol}/${l.ip}${l.announcedAddress || l.announcedPort ? "->" : ""}${l.announcedAddress ?? ""}` +
          `${l.announcedPort ? `:${l.announcedPort}` : ""}`,
      ),
    });
    return slot;
  }

  private onDied(slot: WorkerSlot): void {
    slot.alive = false;
    this.deadCpuSeconds += slot.cpuSeconds;
    this.load.forget(slot.worker);
    this.events.died(slot);
    if (!this.closed) this.restart(slot.index, 0);
  }

  // Starts a worker in slot `index` (the same port), retrying with backoff.
  private restart(index: number, attempt: number): void {
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      if (this.closed) return;
      this.startWorker(index).then(
        (slot) => {
          if (this.closed) return slot.worker.close();
          this.slots[index] = slot;
          this.log.info("media: mediasoup worker replaced", { worker: index, attempt: attempt + 1 });
        },
        (err: unknown) => {
          const last = attempt + 1 >= this.delays.length;
          this.log.error("media: starting a replacement mediasoup worker failed", {
            worker: index,
            attempt: attempt + 1,
            err: String(err instanceof Error ? err.message : err),
            ...(last ? { giving_up: true } : {}),
          });
          if (!last) return this.restart(index, attempt + 1);
          this.broken = true;
          this.events.failed(index);
        },
      );
    }, this.delays[attempt] ?? 0);
    this.retryTimers.add(t);
  }

  // The worker for a new session of a call held by `hosting` (none for a
  // new call): placeSession (worker-load.ts) among those alive.
  place(hosting: readonly WorkerSlot[], consumersPerWorker: number): WorkerSlot {
    const alive = this.alive();
    if (alive.length === 0) throw new Error("no mediasoup worker available");
    return placeSession(
      hosting.filter((s) => s.alive),
      alive,
      consumersPerWorker,
    );
  }

  get size(): number {
    return this.alive().length;
  }

  workers(): readonly ms.Worker[] {
    return this.alive().map((s) => s.worker);
  }

  cpuSeconds(): number {
    return this.slots.reduce((sum, s) => sum + s.cpuSeconds, this.deadCpuSeconds);
  }

  pids(): number[] {
    return this.alive().map((s) => s.worker.pid);
  }

  // Per slot (port + index), a dead one while it is being replaced too.
  loads(): { pid: number; cpuSeconds: number; recent: number; sessions: number; consumers: number }[] {
    return this.slots.map((s) => ({
      pid: s.worker.pid,
      cpuSeconds: s.cpuSeconds,
      recent: s.recent,
      sessions: s.sessions,
      consumers: s.consumers,
    }));
  }

  close(): void {
    this.closed = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.load.stop();
    for (const slot of this.slots) slot.worker.close();
    this.slots.length = 0;
  }

  private alive(): WorkerSlot[] {
    return this.slots.filter((s) => s.alive);
  }
}
