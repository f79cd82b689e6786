// The informer against an API server the test scripts: what it lists and
// watches from, and what its handlers see, when watches end, resume, expire
// (410 Gone) or fail. The same code runs against the real API server in every
// operator integration test; these are the cases a real server produces only
// by chance (a compacted resourceVersion, a watch that dies mid-stream).
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RESOURCES } from "../src/api/resources.ts";
import { ResilientInformer } from "../src/controller/informers.ts";
import { KubeClient } from "../src/controller/kube-client.ts";
import { KubeAccess } from "../src/kube/access.ts";
import { Gate } from "../src/util/gate.ts";
import { createLogger } from "../src/util/log.ts";

const WAIT = { timeout: 10_000, interval: 10 };

function cm(name: string, rv: string, extra: Record<string, unknown> = {}): V1ConfigMap {
  return {
    metadata: {
      name,
      namespace: "ns",
      resourceVersion: rv,
      managedFields: [{ manager: "x" }],
      ...extra,
    },
  };
}

/** An API server for configmaps in "ns": lists answer `lists` in order, watches are held for the test to feed. */
async function fakeApi(lists: { items: V1ConfigMap[]; resourceVersion: string }[]) {
  const s = {
    url: "",
    requests: [] as string[],
    watches: [] as ServerResponse[],
    listStatus: [] as number[],
    watchStatus: [] as number[],
    /** Each watch is answered 200 and ended at once, with no event. */
    endWatchesAtOnce: false,
    watchTimes: [] as number[],
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    s.requests.push(
      `${u.searchParams.get("watch") ? "watch" : "list"} rv=${u.searchParams.get("resourceVersion") ?? ""}`,
    );
    if (u.pathname !== "/api/v1/namespaces/ns/configmaps") {
      res.writeHead(404).end();
      return;
    }
    if (u.searchParams.get("watch")) {
      s.watchTimes.push(performance.now());
      if (s.endWatchesAtOnce) {
        res.writeHead(200, { "Content-Type": "application/json" }).end();
        return;
      }
      const status = s.watchStatus.shift();
      if (status) {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            kind: "Status",
            code: status,
            reason: status === 410 ? "Expired" : "InternalError",
            message: `scripted ${status}`,
          }),
        );
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      s.watches.push(res);
      return;
    }
    const status = s.listStatus.shift();
    if (status) {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", code: status, message: `scripted ${status}` }));
      return;
    }
    const next = lists.shift();
    if (!next) {
      res.writeHead(500).end("no list scripted");
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify({
        kind: "ConfigMapList",
        metadata: { resourceVersion: next.resourceVersion },
        items: next.items.map((i) => ({ ...i })),
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () => {
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  };
  return s;
}

function send(res: ServerResponse, type: string, object: unknown): void {
  res.write(JSON.stringify({ type, object }) + "\n");
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(lists: Parameters<typeof fakeApi>[0], listGate?: Gate) {
  const api = await fakeApi(lists);
  cleanups.push(api.close);
  const access = new KubeAccess({ source: "test", server: api.url, insecureSkipTLSVerify: true });
  cleanups.push(() => access.close());
  const events: string[] = [];
  const informer = new ResilientInformer<V1ConfigMap>(
    new KubeClient(access),
    { type: RESOURCES.ConfigMap, namespace: "ns", ...(listGate ? { listGate } : {}) },
    createLogger({ level: "error", write: () => {} }),
    (type, o) => events.push(`${type} ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
  );
  cleanups.push(() => informer.stop());
  await informer.start();
  return { api, informer, events };
}

describe("ResilientInformer", () => {
  it("lists only when the shared list gate lets it", async () => {
    const gate = new Gate(1);
    let release!: () => void;
    const held = gate.run(() => new Promise<void>((r) => (release = r)));
    const { api, informer, events } = await start([{ items: [cm("a", "5")], resourceVersion: "10" }], gate);
    await vi.waitFor(() => expect(gate.queued).toBe(1), WAIT);
    expect(api.requests).toEqual([]);
    release();
    await held;
    await informer.waitForSync();
    expect(events).toEqual(["add a@5"]);
    expect(api.requests[0]).toBe("list rv=");
  });

  it("lists, then applies watch events from the list's resourceVersion; the cache holds slimmed objects", async () => {
    const { api, informer, events } = await start([
      { items: [cm("a", "5"), cm("b", "6")], resourceVersion: "10" },
    ]);
    await informer.waitForSync();
    expect(events).toEqual(["add a@5", "add b@6"]);
    expect(informer.get("a", "ns")?.metadata?.managedFields).toBeUndefined();
    expect(informer.get("a", "ns")).toMatchObject({ apiVersion: "v1", kind: "ConfigMap" });
    await vi.waitFor(() => expect(api.watches).toHaveLength(1), WAIT);
    expect(api.requests).toEqual(["list rv=", "watch rv=10"]);
    const w = api.watches[0]!;
    send(w, "ADDED", cm("c", "11"));
    send(w, "MODIFIED", cm("a", "12"));
    send(w, "MODIFIED", cm("a", "12")); // the same version again: no event
    send(w, "DELETED", cm("b", "13"));
    await vi.waitFor(
      () => expect(events).toEqual(["add a@5", "add b@6", "add c@11", "update a@12", "delete b@13"]),
      WAIT,
    );
    expect(
      informer
        .list("ns")
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(["a", "c"]);
    expect(informer.get("a", "ns")?.metadata?.managedFields).toBeUndefined();
  });

  it("resumes a watch the server closed from the last resourceVersion, a bookmark's included, without listing again", async () => {
    const { api, informer, events } = await start([{ items: [cm("a", "5")], resourceVersion: "10" }]);
    await informer.waitForSync();
    await vi.waitFor(() => expect(api.watches).toHaveLength(1), WAIT);
    send(api.watches[0]!, "MODIFIED", cm("a", "11"));
    send(api.watches[0]!, "BOOKMARK", { kind: "ConfigMap", metadata: { resourceVersion: "20" } });
    api.watches[0]!.end();
    await vi.waitFor(() => expect(api.watches).toHaveLength(2), WAIT);
    expect(api.requests).toEqual(["list rv=", "watch rv=10", "watch rv=20"]);
    expect(events).toEqual(["add a@5", "update a@11"]);
  });

  it("lists again on a 410 Gone event and reports what was deleted meanwhile", async () => {
    const { api, informer, events } = await start([
      { items: [cm("a", "5"), cm("b", "6")], resourceVersion: "10" },
      { items: [cm("a", "5"), cm("c", "30")], resourceVersion: "31" },
    ]);
    await informer.waitForSync();
    await vi.waitFor(() => expect(api.watches).toHaveLength(1), WAIT);
    send(api.watches[0]!, "ERROR", {
      kind: "Status",
      code: 410,
      reason: "Expired",
      message: "too old resource version",
    });
    await vi.waitFor(() => expect(api.watches).toHaveLength(2), WAIT);
    expect(api.requests).toEqual(["list rv=", "watch rv=10", "list rv=", "watch rv=31"]);
    expect(events).toEqual(["add a@5", "add b@6", "delete b@6", "add c@30"]);
  });

  it("lists again when the watch request itself answers 410", async () => {
    const { api, informer } = await start([
      { items: [], resourceVersion: "10" },
      { items: [cm("a", "40")], resourceVersion: "41" },
    ]);
    api.watchStatus.push(410);
    await informer.waitForSync();
    await vi.waitFor(() => expect(api.watches).toHaveLength(1), WAIT);
    expect(api.requests).toEqual(["list rv=", "watch rv=10", "list rv=", "watch rv=41"]);
    expect(informer.get("a", "ns")?.metadata?.resourceVersion).toBe("40");
  });

  it("retries a failed list and a failed watch, and is synced only once a list succeeded", async () => {
    const { api, informer, events } = await start([{ items: [cm("a", "5")], resourceVersion: "10" }]);
    api.listStatus.push(500);
    api.watchStatus.push(500);
    await vi.waitFor(() => expect(api.requests).toEqual(["list rv="]), WAIT);
    expect(informer.hasSynced()).toBe(false);
    await informer.waitForSync();
    expect(events).toEqual(["add a@5"]);
    await vi.waitFor(() => expect(api.watches).toHaveLength(1), WAIT);
    // The failed watch resumed from where it was, without a second list.
    expect(api.requests).toEqual(["list rv=", "list rv=", "watch rv=10", "watch rv=10"]);
  });

  it("backs off when the server ends every watch at once with nothing in it", async () => {
    const { api, informer } = await start([{ items: [], resourceVersion: "10" }]);
    api.endWatchesAtOnce = true;
    await informer.waitForSync();
    await vi.waitFor(() => expect(api.watchTimes.length).toBeGreaterThanOrEqual(3), WAIT);
    // Backoff 500 ms, then 1000 ms: without it, hundreds of watches a second.
    const gaps = api.watchTimes.slice(1, 3).map((t, i) => Math.round(t - api.watchTimes[i]!));
    expect(gaps[0], `gaps between watches: ${gaps.join(", ")} ms`).toBeGreaterThanOrEqual(450);
    expect(gaps[1], `gaps between watches: ${gaps.join(", ")} ms`).toBeGreaterThanOrEqual(950);
  });

  it("stops: no request after stop(), and an open watch is closed", async () => {
    const { api, informer } = await start([{ items: [], resourceVersion: "10" }]);
    await informer.waitForSync();
    await vi.waitFor(() => expect(api.watches).toHaveLength(1), WAIT);
    const closed = new Promise<void>((r) => api.watches[0]!.on("close", () => r()));
    await informer.stop();
    await closed;
    expect(api.requests).toEqual(["list rv=", "watch rv=10"]);
  });
});
