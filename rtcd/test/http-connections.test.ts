// limits.http_connections: rtcd's HTTP server holds at most that many
// connections (server.maxConnections); a connection beyond it is closed at
// once, the ones it holds are served as before.
import { mkdtempSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NoMediaPlane } from "../src/calls/no-media.ts";
import { loadConfig } from "../src/config/index.ts";
import { silentLogger } from "../src/log.ts";
import { Rtcd } from "../src/service.ts";
import { until } from "./support/wait.ts";

describe("limits.http_connections", () => {
  let rtcd: Rtcd;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "rtcd-httpconns-"));
    const { config } = loadConfig(join(dir, "none.toml"), {
      RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
      RTCD_STORE_DATASOURCE: join(dir, "db"),
      RTCD_LIMITS_HTTPCONNECTIONS: "3",
    });
    expect(config.limits.http_connections).toBe(3);
    rtcd = new Rtcd(config, silentLogger, {
      processMetrics: false,
      media: (_m, log) => new NoMediaPlane(log),
    });
    port = (await rtcd.start()).port;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await rtcd?.stop();
  });

  function open(): { socket: Socket; closed: () => boolean; data: () => string } {
    const socket = connect(port, "127.0.0.1");
    sockets.push(socket);
    let closed = false;
    let data = "";
    socket.on("close", () => (closed = true));
    socket.on("error", () => {});
    socket.on("data", (d: Buffer) => (data += d.toString()));
    return { socket, closed: () => closed, data: () => data };
  }

  test("the connection over the limit is closed; those within it are served", async () => {
    const held = [open(), open(), open()];
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        rtcd.api.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
      );
    await until("rtcd holds the three connections", async () => (await connections()) === 3);
    const extra = open();
    await until("the fourth connection closed by rtcd", extra.closed);
    expect(extra.data()).toBe("");
    held[0]!.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await until("a held connection still served", () => held[0]!.data().includes("200 OK"));
    expect(held.some((h) => h.closed())).toBe(false);
  });
});
