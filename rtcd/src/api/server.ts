// The API listener: HTTP, or HTTPS when api.http.tls.enable is set (TLS 1.2+
// and P-256, as rtcd configures Go's server), with rtcd's timeouts. /ws
// upgrades go to the WebSocket server; everything else to the routes.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createHTTPS } from "node:https";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Config } from "../config/index.ts";
import { parseListenAddress } from "../config/index.ts";
import type { Logger } from "../log.ts";
import type { WSServer } from "../ws/server.ts";
import { pathOf, route, type ApiDeps } from "./routes.ts";
import { sendError } from "./respond.ts";

export interface ApiServer {
  readonly server: Server;
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export function createApiServer(
  http: Config["api"]["http"],
  deps: ApiDeps,
  ws: WSServer,
  log: Logger,
  maxConnections: number,
): ApiServer {
  // Not an import: Node's ES module facade of node:http reads every export,
  // and its lazy WebSocket getter loads undici (Node's HTTP client, which
  // rtcd never uses): 4 MiB of RSS at rest. module-footprint.test.ts checks.
  const { createServer: createHTTP } = process.getBuiltinModule("node:http");

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    route(req, res, deps).catch((err: unknown) => {
      log.error("api: request failed", { method: req.method, url: req.url, err: String(err) });
      if (!res.headersSent) sendError(res, 500, "Internal Server Error");
      else res.destroy();
    });
  };
  const options = {
    // Only WebSocket upgrades of /ws are upgrades; any other request that
    // carries Upgrade headers is served as a plain request, as Go does.
    shouldUpgradeCallback: (req: IncomingMessage) =>
      req.headers.upgrade !== undefined && pathOf(req.url) === "/ws",
    requestTimeout: 30_000,
    headersTimeout: 30_000,
    keepAliveTimeout: 30_000,
  };
  const server: Server = http.tls.enable
    ? createHTTPS(
        {
          ...options,
          cert: readFileSync(http.tls.cert_file),
          key: readFileSync(http.tls.cert_key),
          minVersion: "TLSv1.2",
          ecdhCurve: "P-256",
        },
        handler,
      )
    : createHTTP(options, handler);
  // Past it Node closes new connections at once (before any byte is read):
  // a connection flood costs one accept each, not a parser and its buffers.
  server.maxConnections = maxConnections;

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    ws.upgrade(req, socket, head).catch((err: unknown) => {
      log.error("ws: upgrade failed", { err: String(err) });
      socket.destroy();
    });
  });
  // Unparsable requests: answer like Go's server (a 4xx, then close).
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "ECONNRESET" || !socket.writable) return socket.destroy();
    const status =
      err.code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "408 Request Timeout"
          : "400 Bad Request";
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`,
    );
  });

  return {
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        const addr = parseListenAddress(http.listen_address)!;
        server.once("error", reject);
        const done = () => {
          server.off("error", reject);
          const a = server.address() as AddressInfo;
          log.info(`api: server is listening on ${a.address}:${a.port}`, { tls: http.tls.enable });
          resolve(a);
        };
        if (addr.host === "") server.listen(addr.port, done);
        else server.listen(addr.port, addr.host, done);
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running get 10 s, like rtcd's Shutdown timeout.
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      }),
  };
}
