// Fuzzing our rtcd as a separate process: at least 100,000 random, mutated
// and hostile frames at /ws, and random requests at every HTTP route. The
// process must not crash, its memory must stay bounded, every malformed
// frame must cost only its own connection (closed with a protocol close
// code and a logged reason), every bad request must get a 4xx, and a normal
// client must still work at the end.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { request, Agent } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import WebSocket from "ws";
import { decodeFrame, encodeFrame } from "../src/ws/codec.ts";
import { nextFrame, Rng, type Frame } from "./support/fuzz-gen.ts";
import { isGood, METHODS, nonCanonical, randomAuth, randomBody, randomPath } from "./support/fuzz-http.ts";
import { startRtcd, stopRtcd, type Running } from "./support/procs.ts";
import { until } from "./support/wait.ts";

const FRAMES = Number(process.env["RTCD_FUZZ_FRAMES"] ?? 100_000);
const REQUESTS = Number(process.env["RTCD_FUZZ_REQUESTS"] ?? 6_000);
const RAW_REQUESTS = 500;
const WORKERS = 4;
const SEED = Number(process.env["RTCD_FUZZ_SEED"] ?? Date.now() % 1_000_000);
const ADMIN_SECRET = "fuzz-admin-secret-not-given-to-the-fuzzer";
const CLIENT = "fuzzclient";
const KEY = "fuzz-client-key-0123456789abcdefghijk";
// Protocol close codes the server may use for a bad frame.
const CLOSE_CODES = new Set([1003, 1007, 1009]);
// The old-generation heap ceiling of the fuzzed process (steady state is
// about 30-60 MiB of live data).
const OLD_SPACE_MIB = 160;

let rtcd: Running;
let dir: string;
let token: string;
let wsURL: string;
const rss: number[] = [];

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rtcd-fuzz-"));
  rtcd = await startRtcd({
    impl: "ours",
    realBinary: "",
    dir,
    name: "fuzz",
    env: {
      RTCD_API_SECURITY_ENABLEADMIN: "true",
      RTCD_API_SECURITY_ADMINSECRETKEY: ADMIN_SECRET,
      RTCD_LOGGER_CONSOLELEVEL: "WARN",
      // A leak of retained objects would hit this ceiling and crash the
      // process, which the tests check for; garbage alone never does.
      NODE_OPTIONS: `--max-old-space-size=${OLD_SPACE_MIB}`,
    },
  });
  const admin = `Basic ${Buffer.from(`:${ADMIN_SECRET}`).toString("base64")}`;
  const reg = await fetch(`${rtcd.url}/register`, {
    method: "POST",
    headers: { authorization: admin },
    body: JSON.stringify({ clientID: CLIENT, authKey: KEY }),
  });
  expect(reg.status).toBe(201);
  const login = await fetch(`${rtcd.url}/login`, {
    method: "POST",
    body: JSON.stringify({ clientID: CLIENT, authKey: KEY }),
  });
  token = ((await login.json()) as { bearerToken: string }).bearerToken;
  wsURL = rtcd.url.replace("http", "ws") + "/ws";
}, 60_000);

afterAll(async () => {
  if (rtcd) await stopRtcd(rtcd);
  rmSync(dir, { recursive: true, force: true });
});

interface Stats {
  sent: number;
  stayed: number;
  closes: Map<number, number>;
  byKind: Map<string, number>;
  serverMessages: number;
  failures: string[];
}

// One connection at a time: send a frame, then a ping; the pong proves the
// frame was taken, a close proves it was refused. Either way we learn the
// outcome of exactly that frame.
async function worker(r: Rng, frames: number, stats: Stats): Promise<void> {
  let ws: WebSocket | undefined;
  let waiter: ((o: { pong: true } | { code: number }) => void) | undefined;
  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(wsURL, {
        headers: { authorization: `Bearer ${token}` },
        perMessageDeflate: false,
      });
      s.on("pong", () => waiter?.({ pong: true }));
      s.on("close", (code) => waiter?.({ code }));
      s.on("message", (data: Buffer) => {
        stats.serverMessages++;
        // Whatever the server sends must decode.
        try {
          decodeFrame(data);
        } catch (err) {
          stats.failures.push(`server sent an undecodable frame: ${String(err)}`);
        }
      });
      s.once("open", () => resolve(s));
      s.once("error", reject);
    });
  const outcome = () =>
    new Promise<{ pong: true } | { code: number } | { timeout: true }>((resolve) => {
      const t = setTimeout(() => resolve({ timeout: true }), 10_000);
      waiter = (o) => {
        clearTimeout(t);
        waiter = undefined;
        resolve(o);
      };
    });

  for (let i = 0; i < frames && stats.failures.length < 20; i++) {
    ws ??= await open();
    const f: Frame = nextFrame(r, i);
    stats.byKind.set(f.kind, (stats.byKind.get(f.kind) ?? 0) + 1);
    const done = outcome();
    ws.send(f.bytes, { binary: !f.text });
    ws.ping();
    stats.sent++;
    const o = await done;
    if ("timeout" in o) {
      stats.failures.push(`no answer to a ${f.kind} frame`);
      ws.terminate();
      ws = undefined;
    } else if ("pong" in o) {
      stats.stayed++;
      if (f.expect === "close") stats.failures.push(`${f.kind} frame did not close the connection`);
    } else {
      stats.closes.set(o.code, (stats.closes.get(o.code) ?? 0) + 1);
      if (!CLOSE_CODES.has(o.code)) stats.failures.push(`${f.kind} frame: connection ended with ${o.code}`);
      if (f.expect === "stay")
        stats.failures.push(
          `well-formed frame closed the connection (${o.code}): ${Buffer.from(f.bytes).toString("hex").slice(0, 200)}`,
        );
      ws = undefined;
    }
  }
  ws?.close();
}

test(`${FRAMES} fuzzed WebSocket frames: malformed ones cost only their connection`, async () => {
  const stats: Stats = {
    sent: 0,
    stayed: 0,
    closes: new Map(),
    byKind: new Map(),
    serverMessages: 0,
    failures: [],
  };
  const sampler = setInterval(() => rss.push(rssOf(rtcd.proc.pid!)), 500);
  // A bystander connection that must survive everything.
  const bystander = new WebSocket(wsURL, { headers: { authorization: `Bearer ${token}` } });
  let bystanderClosed = false;
  bystander.on("close", () => (bystanderClosed = true));
  await new Promise((r) => bystander.once("open", r));

  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, (_, w) =>
      worker(new Rng(SEED * 31 + w), Math.ceil(FRAMES / WORKERS), stats),
    ),
  );
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `fuzz seed ${SEED}: ${stats.sent} frames in ${seconds.toFixed(1)} s, ${stats.stayed} accepted, closes ${JSON.stringify([...stats.closes])}, kinds ${JSON.stringify([...stats.byKind])}, RSS MiB over time ${rss
      .filter((_, i) => i % Math.ceil(rss.length / 12) === 0)
      .map((b) => Math.round(b / 2 ** 20))
      .join(" ")}`,
  );

  expect(stats.failures, `seed ${SEED}`).toEqual([]);
  expect(stats.sent).toBeGreaterThanOrEqual(FRAMES);
  expect(rtcd.proc.exitCode).toBeNull();
  expect(bystanderClosed).toBe(false);
  bystander.close();

  // Every refused frame was logged with its reason. The log reaches the
  // file through rtcd's stdout pipe and a write stream, so the last lines
  // may still be on their way when the last close arrives: wait for them.
  const logged = () =>
    readFileSync(rtcd.logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes("ws: closing connection: malformed frame")).length;
  const protocolCloses = (stats.closes.get(1003) ?? 0) + (stats.closes.get(1007) ?? 0);
  await until(
    "every protocol close logged",
    () => logged() >= protocolCloses,
    10_000,
    () => `${logged()} logged, ${protocolCloses} closes with 1003/1007`,
  );

  // Memory stays bounded: the process lived within its heap ceiling (see
  // beforeAll) and its resident size within a fixed bound.
  expect(Math.max(...rss)).toBeLessThan(512 * 2 ** 20);
}, 240_000);

test(`${REQUESTS} fuzzed HTTP requests at every route: bad ones get a 4xx`, async () => {
  const r = new Rng(SEED * 7 + 1);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const one = (): Promise<void> => {
    const target = randomPath(r);
    // Mostly the route's own method, so requests get past the method check.
    const own = /^\/(register|unregister|login)/.test(target) ? "POST" : "GET";
    const method = r.chance(0.7) ? own : r.pick(METHODS);
    // What is actually sent: URL parsing removes dot segments.
    const url = new URL(rtcd.url + target);
    const path = url.pathname + url.search;
    const auth = randomAuth(r, token);
    const body = method === "GET" || method === "HEAD" ? Buffer.alloc(0) : randomBody(r);
    return new Promise((resolve) => {
      const req = request(
        `${rtcd.url}${path}`,
        {
          method,
          agent,
          headers: { ...(auth ? { authorization: auth } : {}), "content-length": body.length },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const s = res.statusCode ?? 0;
            statuses.set(s, (statuses.get(s) ?? 0) + 1);
            const ok = isGood(method, path)
              ? s < 500
              : (s >= 400 && s < 500) ||
                (s === 307 && nonCanonical(path)) ||
                (s === 200 && path.startsWith("/metrics"));
            if (!ok)
              failures.push(`${method} ${path} (${body.length} bytes, auth ${auth?.slice(0, 12)}): ${s}`);
            resolve();
          });
        },
      );
      req.on("error", (err) => {
        // The server may cut a connection whose body it refused (413).
        if (body.length < 65_536) failures.push(`${method} ${path}: ${err.message}`);
        resolve();
      });
      req.end(body);
    });
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < REQUESTS && failures.length < 20) await one();
    }),
  );
  agent.destroy();
  console.log(`http fuzz: statuses ${JSON.stringify([...statuses].sort())}`);
  expect(failures, `seed ${SEED}`).toEqual([]);
  expect(rtcd.proc.exitCode).toBeNull();
}, 120_000);

test(`${RAW_REQUESTS} malformed raw HTTP requests: 4xx or a closed connection`, async () => {
  const r = new Rng(SEED * 13 + 2);
  const failures: string[] = [];
  const { port } = new URL(rtcd.url);
  for (let i = 0; i < RAW_REQUESTS; i++) {
    const kind = r.int(3);
    const payload =
      kind === 0
        ? Buffer.from(r.bytes(1 + r.int(300)))
        : kind === 1
          ? Buffer.from(`${r.pick(METHODS)} ${r.string(30)} HTTP/1.1\r\n${r.string(40)}\r\n\r\n`)
          : Buffer.from(
              `GET /version HTTP/1.1\r\nHost: x\r\nContent-Length: ${r.string(5)}\r\nTransfer-Encoding: ${r.string(8)}\r\n\r\n`,
            );
    const reply = await new Promise<string>((resolve) => {
      let got = "";
      const s = connect(Number(port), "127.0.0.1", () => s.end(payload));
      s.on("data", (d) => (got += d.toString("latin1")));
      s.on("close", () => resolve(got));
      s.on("error", () => {});
      setTimeout(() => {
        s.destroy();
        resolve(got + "\0timeout");
      }, 5000).unref();
    });
    if (reply.endsWith("\0timeout"))
      failures.push(`no close for ${JSON.stringify(payload.toString("latin1").slice(0, 60))}`);
    for (const m of reply.matchAll(/HTTP\/1\.1 (\d{3})/g)) {
      const s = Number(m[1]);
      if (s >= 500) failures.push(`${s} for ${JSON.stringify(payload.toString("latin1").slice(0, 60))}`);
    }
  }
  expect(failures, `seed ${SEED}`).toEqual([]);
  expect(rtcd.proc.exitCode).toBeNull();
}, 120_000);

test("after all that, a normal client still works", async () => {
  expect((await fetch(`${rtcd.url}/version`)).status).toBe(200);
  const ws = new WebSocket(wsURL, { headers: { authorization: `Bearer ${token}` } });
  const messages: { type: string; data: unknown }[] = [];
  ws.on("message", (d: Buffer) => {
    const m = decodeFrame(d);
    messages.push({ type: m.type, data: m.data });
  });
  await new Promise((res) => ws.once("open", res));
  ws.send(
    encodeFrame("join", { callID: "final-call", userID: "u", sessionID: "final-session", channelID: "c" }),
  );
  await expect
    .poll(
      async () =>
        (
          await fetch(`${rtcd.url}/calls/final-call/sessions`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).status,
    )
    .toBe(200);
  ws.send(encodeFrame("leave", { sessionID: "final-session" }));
  await expect.poll(() => messages.some((m) => m.type === "close")).toBe(true);
  expect(messages[0]).toMatchObject({ type: "hello", data: { clientID: CLIENT } });
  ws.close();
});
