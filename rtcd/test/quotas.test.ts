// Quotas beyond the global session cap: sessions per client and per call,
// WebSocket connections per client, registrations. Each refusal reaches the
// caller (a `close` for a join, an HTTP status and message otherwise) and
// counts in rtcd_limit_refusals_total, whose only label comes from a fixed
// set whatever IDs the callers use.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { loadConfig } from "../src/config/index.ts";
import { silentLogger } from "../src/log.ts";
import { NoMediaPlane } from "../src/calls/no-media.ts";
import { Rtcd } from "../src/service.ts";
import { decodeMulti, encode } from "@msgpack/msgpack";
import { until } from "./support/rtc-peer.ts";

const KEY = "k".repeat(40);
const basic = (id: string) => `Basic ${Buffer.from(`${id}:${KEY}`).toString("base64")}`;

describe("quotas (in-process rtcd, no media)", () => {
  let rtcd: Rtcd;
  let base: string;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "rtcd-quotas-"));
    const { config } = loadConfig(join(dir, "none.toml"), {
      RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
      RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
      RTCD_STORE_DATASOURCE: join(dir, "db"),
      RTCD_LIMITS_SESSIONSPERCLIENT: "3",
      RTCD_LIMITS_SESSIONSPERCALL: "2",
      RTCD_LIMITS_WSCONNECTIONSPERCLIENT: "2",
      RTCD_LIMITS_REGISTRATIONS: "3",
    });
    rtcd = new Rtcd(config, silentLogger, {
      processMetrics: false,
      authRatePerSecond: 1000,
      media: (_m, log) => new NoMediaPlane(log),
    });
    const addr = await rtcd.start();
    base = `http://127.0.0.1:${addr.port}`;
  });

  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await rtcd?.stop();
  });

  const register = (clientID: string) =>
    fetch(`${base}/register`, { method: "POST", body: JSON.stringify({ clientID, authKey: KEY }) });

  // A WebSocket, or the HTTP status and body it was refused with.
  function connect(
    clientID: string,
  ): Promise<{ ws?: WebSocket; status?: number; body?: string; msgs: unknown[][] }> {
    return new Promise((resolve) => {
      const msgs: unknown[][] = [];
      const ws = new WebSocket(`${base.replace("http", "ws")}/ws`, {
        headers: { authorization: basic(clientID) },
      });
      ws.on("message", (raw: Buffer) => {
        const [type, data] = [...decodeMulti(raw)];
        msgs.push([type, data]);
        if (type === "hello") resolve({ ws, msgs });
      });
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode, body, msgs }));
      });
      // Refused or cut by the cleanup: the outcome is resolved above.
      ws.on("error", () => {});
      sockets.push(ws);
    });
  }

  const refusals = async (limit: string) => {
    const text = (await rtcd.metrics.render()).body;
    const m = new RegExp(`^rtcd_limit_refusals_total\\{limit="${limit}"\\} (\\d+)$`, "m").exec(text);
    return Number(m?.[1] ?? NaN);
  };

  test("registrations beyond the limit are refused with a message naming it", async () => {
    for (const id of ["a", "b", "c"]) expect((await register(id)).status).toBe(201);
    const r = await register("d");
    expect(r.status).toBe(403);
    expect(await r.text()).toMatch(/registration limit reached \(3, limits\.registrations\)/);
    expect(await refusals("registrations")).toBe(1);
  });

  test("WebSocket connections per client beyond the limit are refused with 429", async () => {
    const one = await connect("a");
    const two = await connect("a");
    expect(one.ws && two.ws).toBeTruthy();
    const three = await connect("a");
    expect(three.status).toBe(429);
    expect(three.body).toMatch(
      /too many WebSocket connections for this client \(2, limits\.ws_connections_per_client\)/,
    );
    // Another client is not affected.
    expect((await connect("b")).ws).toBeTruthy();
    expect(await refusals("ws_connections_per_client")).toBe(1);
    // A closed connection frees its place.
    one.ws!.close();
    await until("a's connection to be gone", async () => (await connect("a")).ws !== undefined, 5000);
  });

  test("sessions per call and per client: the join over the limit gets a close", async () => {
    const { ws, msgs } = await connect("c");
    const joinMsg = (callID: string, sessionID: string) =>
      Buffer.concat([
        encode("join"),
        encode({ callID, sessionID, userID: "u", channelID: "ch", av1Support: false, dcSignaling: false }),
      ]);
    const closes = () => msgs.filter(([t]) => t === "close").map(([, d]) => d) as { sessionID?: string }[];
    for (const [call, sess] of [
      ["call1", "s1"],
      ["call1", "s2"],
      ["call1", "s3"], // third in call1: over sessions_per_call (2)
      ["call2", "s4"],
      ["call3", "s5"], // fourth for client c: over sessions_per_client (3)
    ])
      ws!.send(joinMsg(call!, sess!));
    await until("two closes", () => closes().length >= 2, 5000);
    expect(
      closes()
        .map((d) => d.sessionID)
        .sort(),
    ).toEqual(["s3", "s5"]);
    expect(rtcd.registry.size).toBe(3);
    expect(await refusals("sessions_per_call")).toBe(1);
    expect(await refusals("sessions_per_client")).toBe(1);
  });

  test("the refusal metric's labels stay a fixed set under many client IDs", async () => {
    const text = (await rtcd.metrics.render()).body;
    const labels = [...text.matchAll(/^rtcd_limit_refusals_total\{limit="([^"]+)"\}/gm)].map((m) => m[1]);
    expect(labels.sort()).toEqual(
      [
        "auth_busy",
        "auth_global_rate",
        "auth_source_rate",
        "registrations",
        "producers_per_session",
        "signal_queue",
        "signal_rate",
        "calls_dc_rate",
        "sessions_per_call",
        "sessions_per_client",
        "ws_connections_per_client",
      ].sort(),
    );
  });
});
