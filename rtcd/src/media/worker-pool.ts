// The mediasoup workers: each with a WebRtcServer (all sessions of a worker
// share its UDP/TCP port, like rtcd's single ICE port), load sampling, and
// the choice of a worker for a new call.
import * as mediasoup from "mediasoup";
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import { listenAddresses } from "./addresses.ts";
import { pickWorker, WorkerLoadSampler, type WorkerLoad } from "./worker-load.ts";

// One UDP socket carries every client's media, and the kernel's default
// buffer (about 208 KiB) overflows in bursts (a screen share's keyframe into
// a busy worker): measured 0.7-3.8 % audio loss at 2 x 50 users with a screen
// share. rtcd asks for 16 MiB too; the kernel caps it at net.core.rmem_max /
// wmem_max, which hosts running rtcd should raise.
const UDP_SOCKET_BUFFER_BYTES = 16 * 1024 * 1024;

export interface WorkerSlot extends WorkerLoad {
  worker: ms.Worker;
  server: ms.WebRtcServer;
  index: number;
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

export class WorkerPool {
  private readonly slots: WorkerSlot[] = [];
  private readonly load = new WorkerLoadSampler();
  private readonly opts: WorkerPoolOptions;
  private readonly log: Logger;
  // Told when a worker died (after it is logged). Its routers, transports,
  // producers and consumers are gone with it; the owner ends what it had
  // placed there (a follow-up may also start a replacement worker here).
  private readonly died: (slot: WorkerSlot) => void;

  constructor(opts: WorkerPoolOptions, log: Logger, died: (slot: WorkerSlot) => void) {
    this.opts = opts;
    this.log = log;
    this.died = died;
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.opts.workers; i++) this.slots.push(await this.startWorker(i));
    this.load.start(this.slots);
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
    worker.on("died", (err) => {
      this.log.error("media: mediasoup worker died", { pid: worker.pid, err: err.message });
      this.died(slot);
    });
    this.log.info("media: mediasoup worker started", {
      pid: worker.pid,
      udp: `${this.opts.udpPort + i}`,
      tcp: `${this.opts.tcpPort + i}`,
      addresses: listenInfos.map(
        (l) => `${l.protocol}/${l.ip}${l.announcedAddress ? `->${l.announcedAddress}` : ""}`,
      ),
    });
    return slot;
  }

  // The worker for a new call: the least loaded (worker-load.ts).
  pick(): WorkerSlot {
    return pickWorker(this.slots);
  }

  get size(): number {
    return this.slots.length;
  }

  workers(): readonly ms.Worker[] {
    return this.slots.map((s) => s.worker);
  }

  cpuSeconds(): number {
    return this.slots.reduce((sum, s) => sum + s.cpuSeconds, 0);
  }

  pids(): number[] {
    return this.slots.map((s) => s.worker.pid);
  }

  loads(): { pid: number; cpuSeconds: number; recent: number; sessions: number }[] {
    return this.slots.map((s) => ({
      pid: s.worker.pid,
      cpuSeconds: s.cpuSeconds,
      recent: s.recent,
      sessions: s.sessions,
    }));
  }

  close(): void {
    this.load.stop();
    for (const slot of this.slots) slot.worker.close();
    this.slots.length = 0;
  }
}
