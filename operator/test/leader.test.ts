// Leader election timing, on a clock the test advances: a leader whose renew
// hangs still steps down at its renew deadline, and a standby waits a whole
// lease duration of its own time whatever timestamps the holder wrote. The
// lease API is served over real HTTP by a small store with the API server's
// optimistic concurrency (resourceVersion), which can stop answering.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeAccess } from "../src/kube/access.ts";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KubeClient, KubeTimeoutError } from "../src/controller/kube-client.ts";
import { LeaderElector } from "../src/controller/leader.ts";
import type { Clock } from "../src/controller/workqueue.ts";
import { Backoff } from "../src/util/clock.ts";
import { createLogger } from "../src/util/log.ts";

const log = createLogger({ level: "error", write: () => {} });

function manualClock(): Clock & { advance(ms: number): void; pending(): number } {
  let now = 0;
  let seq = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.push({ at: now + ms, fn, id: ++seq });
      return seq;
    },
    clearTimeout: (h) => {
      timers = timers.filter((t) => t.id !== h);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = due.at;
        timers = timers.filter((t) => t !== due);
        due.fn();
      }
      now = until;
    },
    pending: () => timers.length,
  };
}

interface LeaseServer {
  url: string;
  lease: { metadata: { resourceVersion: string }; spec: Record<string, unknown> } | undefined;
  hang: boolean;
  /** Requests received and never answered because `hang` was set. */
  held: ServerResponse[];
  requests: number;
  close(): Promise<void>;
}

async function leaseServer(): Promise<LeaseServer> {
  let rv = 0;
  const s: LeaseServer = {
    url: "",
    lease: undefined,
    hang: false,
    held: [],
    requests: 0,
    close: () => Promise.resolve(),
  };
  const handle = (req: IncomingMessage, body: string, res: ServerResponse) => {
    s.requests++;
    if (s.hang) {
      s.held.push(res);
      return;
    }
    const send = (status: number, obj: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    if (req.method === "GET") return s.lease ? send(200, s.lease) : send(404, { reason: "NotFound" });
    const obj = JSON.parse(body) as NonNullable<LeaseServer["lease"]>;
    if (req.method === "POST") {
      if (s.lease) return send(409, { reason: "AlreadyExists" });
    } else if (obj.metadata.resourceVersion !== s.lease?.metadata.resourceVersion) {
      return send(409, { reason: "Conflict" });
    }
    s.lease = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
    send(200, s.lease);
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handle(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () => {
    for (const r of s.held) r.destroy();
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  };
  return s;
}

function clientFor(url: string): KubeClient {
  return new KubeClient(new KubeAccess({ source: "test", server: url, insecureSkipTLSVerify: true }));
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const server = await leaseServer();
  cleanups.push(() => server.close());
  const clock = manualClock();
  return { server, clock, client: clientFor(server.url) };
}

// Real HTTP round trips on a loaded 2-core machine.
const WAIT = { timeout: 10_000 };

const opts = {
  namespace: "ns",
  name: "op",
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

describe("leader election", () => {
  it("steps down at the renew deadline even though its renew never returns", async () => {
    const { server, clock, client } = await setup();
    // Lease calls time out only after a minute of real time: only the
    // deadline timer, on the injected clock, can end this leadership.
    const elector = new LeaderElector(client, { ...opts, requestTimeoutMs: 60_000 }, log, clock);
    cleanups.push(() => elector.release());
    const events: string[] = [];
    elector.run(
      () => events.push("start"),
      () => events.push("stop"),
    );
    await vi.waitFor(() => expect(events).toEqual(["start"]), WAIT);

    server.hang = true;
    clock.advance(2_000); // the next renew is sent and hangs
    await vi.waitFor(() => expect(server.held.length).toBe(1), WAIT);
    clock.advance(7_999);
    expect(events).toEqual(["start"]);
    expect(elector.isLeading()).toBe(true);
    clock.advance(1); // 10 s after the last successful renew was sent
    expect(events).toEqual(["start", "stop"]);
    expect(elector.isLeading()).toBe(false);
    // It did not wait for the hung call, and sends nothing more.
    expect(server.held.length).toBe(1);
    clock.advance(60_000);
    expect(clock.pending()).toBe(0);
  });

  it("a standby takes the lease after a whole lease duration of its own time, whatever the holder wrote", async () => {
    const { server, clock, client } = await setup();
    // The holder's clock is a year ahead: comparing its renewTime with ours
    // would make the lease look fresh for a year.
    const future = new Date(Date.now() + 365 * 86_400_000).toISOString();
    server.lease = {
      metadata: { resourceVersion: "100" },
      spec: { holderIdentity: "other", leaseDurationSeconds: 15, renewTime: future, acquireTime: future },
    };
    const elector = new LeaderElector(client, opts, log, clock);
    cleanups.push(() => elector.release());
    let started = false;
    elector.run(
      () => (started = true),
      () => {},
    );
    // A round is over once its answer is in and the next one is scheduled.
    const roundDone = (n: number) =>
      vi.waitFor(() => expect([server.requests, clock.pending()]).toEqual([n, 1]), WAIT);
    await roundDone(1);
    for (let t = 2_000; t < 15_000; t += 2_000) {
      const before = server.requests;
      clock.advance(2_000);
      await roundDone(before + 1);
    }
    expect(started).toBe(false);
    clock.advance(2_000); // 16 s since it first saw that record unchanged
    await vi.waitFor(() => expect(started).toBe(true), WAIT);
    expect(server.lease?.spec["holderIdentity"]).toBe(elector.identity);
    expect(server.lease?.spec["leaseTransitions"]).toBe(1);
  });

  it("a leader that finds another holder on the lease steps down at once", async () => {
    const { server, clock, client } = await setup();
    const elector = new LeaderElector(client, opts, log, clock);
    cleanups.push(() => elector.release());
    const events: string[] = [];
    elector.run(
      () => events.push("start"),
      () => events.push("stop"),
    );
    await vi.waitFor(() => expect(events).toEqual(["start"]), WAIT);
    server.lease!.spec["holderIdentity"] = "usurper";
    clock.advance(2_000);
    await vi.waitFor(() => expect(events).toEqual(["start", "stop"]), WAIT);
  });

  it("refuses a renew deadline that is not shorter than the lease duration", async () => {
    const { client } = await setup();
    expect(() => new LeaderElector(client, { ...opts, renewDeadlineMs: 15_000 }, log)).toThrow(/shorter/);
  });
});

describe("API request timeouts", () => {
  it("a request to a server that accepts and never answers fails after its timeout", async () => {
    const { server, client } = await setup();
    server.hang = true;
    const t0 = performance.now();
    const err: unknown = await client
      .withTimeout(300)
      .get({ group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true }, "ns", "p")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeTimeoutError);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(client.timeoutMs).toBe(30_000);
  });
});

describe("Backoff", () => {
  it("doubles up to the cap, and starts over after a healthy period", () => {
    const clock = manualClock();
    const b = new Backoff(clock, 500, 4_000, 60_000);
    const delays = [b.next(), b.next(), b.next(), b.next(), b.next()];
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
    clock.advance(30_000);
    expect(b.next()).toBe(4_000);
    clock.advance(4_000 + 60_000);
    expect(b.next()).toBe(500);
  });
});
