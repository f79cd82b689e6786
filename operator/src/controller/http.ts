// The operator's own HTTP endpoints: Prometheus metrics, and liveness and
// readiness probes for its Deployment.
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export interface Probe {
  healthy(): boolean;
  ready(): boolean;
}

export function parseBindAddress(addr: string, flag: string): { host: string; port: number } | undefined {
  if (addr === "0") return undefined; // "0" disables, as in controller-runtime
  const m = /^(.*):(\d{1,5})$/.exec(addr);
  if (!m || Number(m[2]) > 65535)
    throw new Error(
      `${flag}: "${addr}" is not host:port (e.g. ":8080" or "127.0.0.1:8080"), or "0" to disable`,
    );
  return { host: m[1] || "0.0.0.0", port: Number(m[2]) };
}

export async function serveMetrics(
  addr: { host: string; port: number },
  registry: Registry,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/metrics") {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { "Content-Type": registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await listen(server, addr);
  return server;
}

export async function serveProbes(addr: { host: string; port: number }, probe: Probe): Promise<Server> {
  const server = createServer((req, res) => {
    const check =
      req.url === "/healthz" ? probe.healthy() : req.url === "/readyz" ? probe.ready() : undefined;
    if (req.method !== "GET" || check === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(check ? 200 : 503, { "Content-Type": "text/plain" });
    res.end(check ? "ok" : "not ready");
  });
  await listen(server, addr);
  return server;
}

function listen(server: Server, addr: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(addr.port, addr.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
