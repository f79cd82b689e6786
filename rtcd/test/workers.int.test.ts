// Two mediasoup workers (each on its own port: see the note on shared ports
// in docs/rtcd-compat-notes.md): their CPU use is sampled from the workers
// themselves, a new call goes to the less loaded one, and /system reports a
// load that includes them.
import { createHmac, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import * as mediasoup from "mediasoup";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { MediasoupPlane } from "../src/media/plane.ts";
import { resolveWorkerBin, WORKER_PATCH_MARKERS } from "../src/media/worker-bin.ts";
import type { Rtcd } from "../src/service.ts";
import { startInProcess } from "./support/in-process-rtcd.ts";
import { freeICEPort } from "./support/procs.ts";
import { Peer, PluginConn } from "./support/rtc-peer.ts";
import { until } from "./support/wait.ts";

const KEY = "w".repeat(40);

describe("two workers, placement by load", () => {
  let rtcd: Rtcd;
  let plane: MediasoupPlane;
  let base: string;
  let conn: PluginConn;
  const peers: Peer[] = [];

  beforeAll(async () => {
    ({ rtcd, plane, base, conn } = await startInProcess({ name: "workers", workers: 2, key: KEY }));
  });

  afterAll(async () => {
    for (const p of peers) await p.close();
    conn?.close();
    await rtcd?.stop();
  });

  test("the busy worker shows CPU use, the next call goes to the other, /system counts them", async () => {
    const a = new Peer(conn, "busy", "wA");
    const b = new Peer(conn, "busy", "wB");
    peers.push(a, b);
    a.join();
    b.join();
    await a.offer({ send: true });
    await b.offer({ send: true });
    await a.connected();
    await b.connected();
    a.startAudio();
    b.startAudio();
    await until("media flowing", () => a.received.length > 50 && b.received.length > 50);
    const busy = plane.workerLoads().findIndex((w) => w.sessions === 2);
    expect(busy).toBeGreaterThanOrEqual(0);
    await until("the busy worker's CPU sampled", () => plane.workerLoads()[busy]!.cpuSeconds > 0, 5_000);
    // Its recent share needs two samples (one a second) since it got busy.
    await until(
      "the busy worker's recent CPU share sampled",
      () => plane.workerLoads()[busy]!.recent > 0,
      5_000,
    );
    const loads = plane.workerLoads();
    expect(loads[busy]!.recent).toBeGreaterThan(0);
    expect(loads[busy]!.recent).toBeGreaterThanOrEqual(loads[1 - busy]!.recent);
    expect(plane.cpuSeconds()).toBeGreaterThan(0);

    const c = new Peer(conn, "other", "wC");
    peers.push(c);
    c.join();
    await c.offer({ send: true });
    await c.connected();
    expect(plane.workerLoads()[1 - busy]!.sessions).toBe(1);

    // /system answers a positive, finite load with two workers busy (an
    // idle value until two host samples exist; placement-load.ts).
    const cpuLoad = async () =>
      ((await (await fetch(`${base}/system`)).json()) as { cpu_load: number }).cpu_load;
    const load = await cpuLoad();
    expect(load).toBeGreaterThan(0);
    expect(Number.isFinite(load)).toBe(true);
  });
});

// Why workers do not share the RTC port: mediasoup 3.27's only sharing option
// (listenInfo flags.udpReusePort) makes every packet go to the worker that
// bound last, so the transports of every other worker never see their ICE
// checks. (True SO_REUSEPORT would hash clients across workers regardless of
// which one holds their transport: no better.) This pins that behaviour down.
describe("workers sharing one UDP port (udpReusePort)", () => {
  test("only the worker that bound last answers ICE checks", async () => {
    const port = await freeICEPort();
    const workers: mediasoup.types.Worker[] = [];
    try {
      const servers: mediasoup.types.WebRtcServer[] = [];
      for (let i = 0; i < 2; i++) {
        const w = await mediasoup.createWorker({ workerBin: resolveWorkerBin(), logLevel: "error" });
        workers.push(w);
        servers.push(
          await w.createWebRtcServer({
            listenInfos: [{ protocol: "udp", ip: "127.0.0.1", port, flags: { udpReusePort: true } }],
          }),
        );
      }
      const answered: number[] = [];
      for (let owner = 0; owner < 2; owner++) {
        const router = await workers[owner]!.createRouter({ mediaCodecs: [] });
        const t = await router.createWebRtcTransport({ webRtcServer: servers[owner]! });
        let n = 0;
        await Promise.all(
          Array.from({ length: 16 }, () =>
            stunCheck(port, t.iceParameters.usernameFragment, t.iceParameters.password).then((ok) => {
              if (ok) n++;
            }),
          ),
        );
        answered.push(n);
        router.close();
      }
      expect(answered).toEqual([0, 16]);
    } finally {
      for (const w of workers) w.close();
    }
  });
});

// One ICE connectivity check (STUN Binding Request with USERNAME,
// MESSAGE-INTEGRITY and FINGERPRINT) from a fresh socket: answered or not.
function stunCheck(port: number, ufrag: string, pwd: string): Promise<boolean> {
  const attrs: Buffer[] = [];
  const attr = (type: number, value: Buffer) => {
    const b = Buffer.alloc(4 + value.length + ((4 - (value.length % 4)) % 4));
    b.writeUInt16BE(type, 0);
    b.writeUInt16BE(value.length, 2);
    value.copy(b, 4);
    attrs.push(b);
  };
  const tid = randomBytes(12);
  const message = (extra: number) => {
    const body = Buffer.concat(attrs);
    const h = Buffer.alloc(20);
    h.writeUInt16BE(0x0001, 0);
    h.writeUInt16BE(body.length + extra, 2);
    h.writeUInt32BE(0x2112a442, 4);
    tid.copy(h, 8);
    return Buffer.concat([h, body]);
  };
  attr(0x0006, Buffer.from(`${ufrag}:client`));
  attr(0x0024, Buffer.from([0x6e, 0x00, 0x01, 0xff])); // PRIORITY
  attr(0x802a, randomBytes(8)); // ICE-CONTROLLING
  attr(0x0008, createHmac("sha1", pwd).update(message(24)).digest());
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(message(8)) ^ 0x5354554e) >>> 0);
  attr(0x8028, fp);
  const req = message(0);
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      resolve(false);
    }, 800);
    s.on("message", (m) => {
      if (m.readUInt16BE(0) !== 0x0101) return;
      clearTimeout(timer);
      s.close();
      resolve(true);
    });
    s.bind(0, "127.0.0.1", () => s.send(req, port, "127.0.0.1"));
  });
}

describe("the worker this project builds", () => {
  test("carries each of our patches' markers, which rtcd checks before starting it", () => {
    const bin = readFileSync(resolveWorkerBin());
    expect(WORKER_PATCH_MARKERS.filter((m) => !bin.includes(m))).toEqual([]);
  });
});
