import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { BodyError, decodeStringMap } from "../src/api/body.ts";
import { cleanPath, goJSON } from "../src/api/respond.ts";
import { loadConfig } from "../src/config/index.ts";
import { newID } from "../src/ids.ts";
import { decodeFrame } from "../src/ws/codec.ts";
import { jsonLine, plainLine } from "../src/log.ts";
import { silentLogger } from "../src/log.ts";
import { NoMediaPlane } from "../src/calls/no-media.ts";
import { Rtcd } from "../src/service.ts";
import { CPULoadSampler } from "../src/system.ts";
import { nodeBin, OURS_MAIN } from "./support/procs.ts";

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("request bodies, decoded like Go's json.Decoder into map[string]string", () => {
  const dec = (s: string) => decodeStringMap(Buffer.from(s));
  const err = (s: string) => {
    try {
      dec(s);
    } catch (e) {
      return (e as BodyError).message;
    }
    return "no error";
  };
  test("values", () => {
    expect(dec(' {"clientID":"a","authKey":"b"}')).toEqual({ clientID: "a", authKey: "b" });
    expect(dec('{"a":"b"} trailing garbage')).toEqual({ a: "b" });
    expect(dec("null")).toEqual({});
    expect(dec('{"a":null}')).toEqual({});
    expect(dec('{"__proto__":"x"}')["__proto__"]).toBe("x");
  });
  test("errors", () => {
    expect(err("")).toBe("EOF");
    expect(err("  \n")).toBe("EOF");
    expect(err('{"a":')).toBe("unexpected EOF");
    expect(err('{"a":1}')).toBe("json: cannot unmarshal number into Go value of type string");
    expect(err("[]")).toBe("json: cannot unmarshal array into Go value of type map[string]string");
    expect(err("xyz")).toMatch(/^invalid character/);
  });
});

describe("Go-shaped responses", () => {
  test("JSON escapes HTML like encoding/json and ends with a newline", () => {
    expect(goJSON({ a: "<&>" })).toBe('{"a":"\\u003c\\u0026\\u003e"}\n');
  });
  test("cleanPath", () => {
    expect(cleanPath("//version")).toBe("/version");
    expect(cleanPath("/a/../b/")).toBe("/b/");
    expect(cleanPath("/calls/x/./sessions")).toBe("/calls/x/sessions");
    expect(cleanPath("/")).toBe("/");
  });
});

describe("misc", () => {
  test("IDs look like Mattermost's", () => {
    const ids = new Set(Array.from({ length: 200 }, newID));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[ybndrfg8ejkmcpqxot1uwisza345h769]{26}$/);
  });
  test("log lines", () => {
    const ts = new Date("2026-01-02T03:04:05.006Z");
    expect(JSON.parse(jsonLine("info", ts, "hi", { a: 1n }))).toEqual({
      ts: ts.toISOString(),
      level: "info",
      msg: "hi",
      a: "1",
    });
    expect(plainLine("warn", ts, "hi", { k: "v" }, false)).toBe(
      `warn  [2026-01-02 03:04:05.006 Z] ${"hi".padEnd(45)} k="v"\n`,
    );
  });
  test("cpu_load follows rtcd's formula", () => {
    const idle = [100, 101.5, 101.5];
    const s = new CPULoadSampler(() => idle.shift());
    s.sample(0);
    expect(s.load).toBe(0);
    s.sample(1000);
    expect(s.load).toBeCloseTo(1 / 1.5);
    s.sample(2000);
    expect(s.load).toBe(1e6);
  });
});

describe("the API in-process", () => {
  let rtcd: Rtcd;
  let base: string;
  beforeAll(async () => {
    const dir = tempDir("rtcd-http-");
    const { config } = loadConfig(join(dir, "none.toml"), {
      RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
      RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
      RTCD_STORE_DATASOURCE: join(dir, "db"),
    });
    rtcd = new Rtcd(config, silentLogger, {
      processMetrics: false,
      authRatePerSecond: 1000,
      media: (_m, log) => new NoMediaPlane(log),
    });
    const addr = await rtcd.start();
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(() => rtcd.stop());

  test("non-canonical paths redirect like ServeMux", async () => {
    const r = await fetch(`${base}//version?x=1`, { redirect: "manual" });
    expect(r.status).toBe(307);
    expect(r.headers.get("location")).toBe("/version?x=1");
  });

  test("oversized bodies get 413", async () => {
    const r = await fetch(`${base}/login`, { method: "POST", body: "x".repeat(100_000) });
    expect(r.status).toBe(413);
    expect((await r.json()) as unknown).toMatchObject({ code: "413" });
  });

  test("/ws without credentials gets 401 before any upgrade", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${base.replace("http", "ws")}/ws`);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => reject(new Error("opened")));
      ws.on("error", () => {});
    });
    expect(status).toBe(401);
  });

  test("/ws without an upgrade is refused like gorilla refuses it", async () => {
    const key = "k".repeat(32);
    await fetch(`${base}/register`, {
      method: "POST",
      body: JSON.stringify({ clientID: "c", authKey: key }),
    });
    const r = await fetch(`${base}/ws`, {
      headers: { authorization: `Basic ${Buffer.from(`c:${key}`).toString("base64")}` },
    });
    expect(r.status).toBe(400);
    expect(await r.text()).toBe("Bad Request\n");
  });

  test("an Upgrade header on another route is a plain request", async () => {
    const net = await import("node:net");
    const { port } = new URL(base);
    const text = await new Promise<string>((resolve) => {
      const s = net.connect(Number(port), "127.0.0.1", () =>
        s.write("GET /version HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
      );
      s.once("data", (d) => {
        resolve(d.toString());
        s.destroy();
      });
    });
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(text).toContain('"buildVersion":"v1.2.6+mmrtcd.');
  });
});

describe("TLS, as rtcd serves it when api.http.tls.enable is set", () => {
  const haveOpenSSL = spawnSync("openssl", ["version"]).status === 0;
  test.skipIf(!haveOpenSSL)("HTTPS and WSS with the configured certificate", async () => {
    const dir = tempDir("rtcd-tls-");
    const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    const gen = spawnSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
    expect(gen.status).toBe(0);
    const { config } = loadConfig(join(dir, "none.toml"), {
      RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
      RTCD_API_HTTP_TLS_ENABLE: "true",
      RTCD_API_HTTP_TLS_CERTFILE: cert,
      RTCD_API_HTTP_TLS_CERTKEY: key,
      RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
      RTCD_STORE_DATASOURCE: join(dir, "db"),
    });
    const server = new Rtcd(config, silentLogger, {
      processMetrics: false,
      authRatePerSecond: 1000,
      media: (_m, log) => new NoMediaPlane(log),
    });
    const { port } = await server.start();
    try {
      const ca = readFileSync(cert);
      const { get } = await import("node:https");
      const body = await new Promise<string>((resolve, reject) =>
        get({ host: "127.0.0.1", port, path: "/version", ca, servername: "localhost" }, (res) => {
          let b = "";
          res.on("data", (d: Buffer) => (b += d.toString()));
          res.on("end", () => resolve(b));
        }).on("error", reject),
      );
      expect(JSON.parse(body)).toMatchObject({ buildVersion: expect.stringMatching(/^v1\.2\.6\+/) });
      const authKey = "k".repeat(32);
      const { request } = await import("node:https");
      await new Promise<void>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port, path: "/register", method: "POST", ca, servername: "localhost" },
          (res) => {
            expect(res.statusCode).toBe(201);
            res.resume();
            res.on("end", () => resolve());
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify({ clientID: "tls", authKey }));
      });
      const ws = new WebSocket(`wss://localhost:${port}/ws`, {
        ca,
        headers: { authorization: `Basic ${Buffer.from(`tls:${authKey}`).toString("base64")}` },
      });
      const first = await new Promise<Buffer>((resolve, reject) => {
        ws.once("message", (d: Buffer) => resolve(d));
        ws.once("error", reject);
      });
      expect(decodeFrame(first)).toMatchObject({ type: "hello", data: { clientID: "tls" } });
      ws.close();
    } finally {
      await server.stop();
    }
  });
});

describe("the rtcd command", () => {
  test("an invalid value stops the start, naming the key, the value and what is allowed", () => {
    const r = spawnSync(nodeBin(), [OURS_MAIN, "--config", "/nonexistent.toml"], {
      env: { PATH: process.env["PATH"], RTCD_RTC_ICEPORTUDP: "70000", RTCD_API_SECURITY_ENABLEADMIN: "yes" },
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'RTCD_RTC_ICEPORTUDP="70000" (environment; TOML key rtc.ice_port_udp): allowed: an integer from 80 to 49151',
    );
    expect(r.stderr).toContain('RTCD_API_SECURITY_ENABLEADMIN="yes"');
  });
  test("accepts Go-style -config", () => {
    const r = spawnSync(nodeBin(), [OURS_MAIN, "-config", "/nonexistent.toml"], {
      env: { PATH: process.env["PATH"], RTCD_RTC_ICEPORTUDP: "1" },
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("RTCD_RTC_ICEPORTUDP");
  });
});
