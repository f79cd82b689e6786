// The API server stops answering the leader (a black-holed connection: the
// TCP connections stay open, nothing comes back), while the standby still
// reaches it. What users rely on: the old leader stops acting within its
// renew deadline instead of hanging in a renew call, so there are never two
// leaders, and the standby takes over and reconciles.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  cr,
  installCrd,
  kubectl,
  startOperator,
  useCluster,
  useNamespace,
  waitFor,
  waitReady,
  type OperatorProcess,
} from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-partition");
installCrd();
const running: OperatorProcess[] = [];
const closers: (() => void)[] = [];

afterEach(async () => {
  for (const op of running.splice(0)) await op.stop("SIGKILL");
  for (const c of closers.splice(0)) c();
});

/** A TCP proxy that can start dropping everything, both ways, on open connections and new ones. */
async function blackHoleProxy(targetPort: number): Promise<{ port: number; blackHole(): void }> {
  let dropping = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    client.on("data", (d: Buffer) => dropping || upstream.write(d));
    upstream.on("data", (d: Buffer) => dropping || client.write(d));
    client.on("end", () => dropping || upstream.end());
    upstream.on("end", () => dropping || client.end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  return { port, blackHole: () => (dropping = true) };
}

const lead = (op: OperatorProcess) => op.metricValue("leader_election_master_status");

describe("leader cut off from the API server", () => {
  it("stops within its renew deadline, and the standby takes over", async () => {
    const c = await useCluster();
    const server = new URL(c.server);
    const proxy = await blackHoleProxy(Number(server.port));
    // The same credentials and CA, through the proxy (127.0.0.1 is in the serving certificate).
    const viaProxy = `${c.kubeconfig}.proxy-${randomBytes(3).toString("hex")}`;
    writeFileSync(
      viaProxy,
      readFileSync(c.kubeconfig, "utf8").replaceAll(c.server, `https://127.0.0.1:${proxy.port}`),
    );
    const le = [
      "--namespace",
      ns.name,
      "--leader-elect",
      "--leader-election-namespace",
      ns.name,
      "--leader-election-id",
      `part-${randomBytes(3).toString("hex")}`,
    ];
    const a = await startOperator(viaProxy, le, c.env);
    running.push(a);
    await waitFor(async () => (await lead(a)) === 1, {
      timeoutMs: 60_000,
      what: "the first operator to lead",
    });
    const b = await startOperator(c.kubeconfig, le, c.env);
    running.push(b);
    await waitFor(() => b.ready(), { timeoutMs: 60_000, what: "the standby's caches" });
    expect(await lead(b)).toBe(0);

    await kubectl(["apply", "-n", ns.name, "-f", "-"], { input: cr("part", { replicas: 1 }) });
    await waitReady(ns.name, "part");

    const cutAt = Date.now();
    proxy.blackHole();
    const code = await a.exited;
    const stoppedAfter = (Date.now() - cutAt) / 1000;
    process.stderr.write(`[partition] cut-off leader exited (${code}) after ${stoppedAfter.toFixed(1)} s\n`);
    expect(code).toBe(1);
    expect(a.logs.some((l) => l.includes("lost leadership"))).toBe(true);
    // Renew deadline 10 s from its last successful renew (every 2 s), plus a
    // little for a loaded machine's timers.
    expect(stoppedAfter).toBeLessThan(13);

    await waitFor(async () => (await lead(b)) === 1, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: "the standby to take the lease",
    });
    process.stderr.write(
      `[partition] standby leads ${((Date.now() - cutAt) / 1000).toFixed(1)} s after the cut\n`,
    );
    await kubectl(["apply", "-n", ns.name, "-f", "-"], { input: cr("part", { replicas: 2 }) });
    const ready = await waitReady(ns.name, "part", 60_000);
    expect(ready.status?.readyReplicas).toBe(2);
  });
});
