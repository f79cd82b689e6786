// Events an operator watches for, from what the operator sees of each pod:
// drain started (with the calls it holds), drain finished, worker restarted.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GROUP, KIND, VERSION, applyDefaults } from "../src/api/index.ts";
import { PodEventWatcher, podEvents, type PodEvent, type PodView } from "../src/probe/pod-events.ts";
import { Sampler } from "../src/autoscale/sampler.ts";
import { PodHttp } from "../src/util/pod-http.ts";

const T0 = 1_000_000;
const view = (pod: string, v: Partial<PodView> = {}): PodView => ({ pod, draining: false, ...v });

describe("pod events", () => {
  it("says when a pod starts draining, with its calls, and when it is gone", () => {
    const before = new Map([["a", view("a", { workerDeaths: 0 })]]);
    const draining = view("a", { draining: true, drainingSince: T0, calls: 3, workerDeaths: 0 });
    expect(podEvents(before, [draining], T0)).toEqual([
      { type: "Normal", reason: "DrainStarted", message: "pod a started draining with 3 call(s)" },
    ]);
    // Still draining: nothing new to say.
    expect(podEvents(new Map([["a", draining]]), [{ ...draining, calls: 1 }], T0 + 60_000)).toEqual([]);
    expect(podEvents(new Map([["a", draining]]), [], T0 + 125_000)).toEqual([
      {
        type: "Normal",
        reason: "DrainFinished",
        message: "pod a finished draining after 2m5s; it held 3 call(s) when it started",
      },
    ]);
  });

  it("says so when the calls of a draining pod are unknown", () => {
    expect(podEvents(new Map(), [view("b", { draining: true, drainingSince: T0 })], T0)[0]?.message).toBe(
      "pod b started draining (calls unknown)",
    );
  });

  it("warns when rtcd's media worker deaths counter grows, not on the first sample", () => {
    expect(podEvents(new Map(), [view("a", { workerDeaths: 2 })], T0)).toEqual([]);
    expect(
      podEvents(new Map([["a", view("a", { workerDeaths: 2 })]]), [view("a", { workerDeaths: 3 })], T0),
    ).toEqual([
      {
        type: "Warning",
        reason: "WorkerRestarted",
        message: "pod a: 1 media worker(s) died and were restarted",
      },
    ]);
    // Unknown this time (scrape failed): no event, and the last known count stays.
    expect(podEvents(new Map([["a", view("a", { workerDeaths: 3 })]]), [view("a")], T0)).toEqual([]);
  });
});

const instance = (name: string) =>
  applyDefaults({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    metadata: { name, namespace: "calls", uid: name },
  });

const readyPod = (name: string, deleting = false): V1Pod => ({
  metadata: {
    name,
    namespace: "calls",
    uid: `uid-${name}`,
    ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" as unknown as Date } : {}),
  },
  status: { phase: "Running", podIP: "10.0.0.1", conditions: [{ type: "Ready", status: "True" }] },
});

/** rtcd pods' /metrics, answered only when the test releases them; counts what is in flight. */
async function heldMetrics() {
  const held: { pod: string; res: ServerResponse }[] = [];
  const asked: string[] = [];
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    const pod = req.url!.split("/")[1]!;
    asked.push(pod);
    held.push({ pod, res });
    maxInFlight = Math.max(maxInFlight, held.length);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    asked,
    held,
    get maxInFlight() {
      return maxInFlight;
    },
    release(n = held.length) {
      for (const { res } of held.splice(0, n)) res.end("# TYPE rtcd_calls gauge\nrtcd_calls 0\n");
    },
    close: () =>
      new Promise<void>((r) => {
        for (const { res } of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe("pod event watcher", () => {
  let server: Awaited<ReturnType<typeof heldMetrics>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  // A restarted operator syncs every instance at once: with 1000 pods that
  // was 1000 requests (and connection pools) in flight together, the largest
  // part of its memory peak.
  it("reads at most its bound of pods' /metrics at a time, however many pods are due", async () => {
    server = await heldMetrics();
    const s = server;
    const watcher = new PodEventWatcher({
      resolve: (p) => `${s.base}/${p.metadata!.name}`,
      onEvent: () => {},
      concurrency: 4,
    });
    for (let i = 0; i < 10; i++) {
      watcher.sync(
        instance(`rtcd-${i}`),
        [0, 1, 2].map((j) => readyPod(`rtcd-${i}-${j}`)),
      );
    }
    for (let answered = 0; answered < 30; answered++) {
      await vi.waitFor(() => expect(s.held.length).toBe(Math.min(4, 30 - answered)));
      s.release(1);
    }
    expect(new Set(s.asked).size).toBe(30);
    expect(s.maxInFlight, `asked in this order: ${s.asked.join(" ")}`).toBe(4);
  });

  // The operator gives both readers one PodHttp (controller/manager.ts): its
  // bound is on every read of the pods' endpoints, not one bound each.
  it("shares its bound with the autoscaler's sampler", async () => {
    server = await heldMetrics();
    const s = server;
    const http = new PodHttp({ concurrency: 3 });
    const resolve = (p: V1Pod) => `${s.base}/${p.metadata!.name}`;
    const watcher = new PodEventWatcher({ resolve, onEvent: () => {}, http });
    const sampler = new Sampler({ resolve, http });
    watcher.sync(
      instance("w"),
      [0, 1, 2].map((j) => readyPod(`w-${j}`)),
    );
    // Two pods, /system and /metrics each: 4 requests, 7 in all.
    const sampled = sampler.sample([readyPod("s-0"), readyPod("s-1")], 8045, false);
    for (let answered = 0; answered < 7; answered++) {
      await vi.waitFor(() => expect(s.held.length).toBe(Math.min(3, 7 - answered)));
      s.release(1);
    }
    expect((await sampled).map((p) => p.pod)).toEqual(["s-0", "s-1"]);
    expect(s.maxInFlight, `asked in this order: ${s.asked.join(" ")}`).toBe(3);
  });

  it("reads a pod that starts draining at once, not behind the routine reads", async () => {
    server = await heldMetrics();
    const s = server;
    const events: PodEvent[] = [];
    const watcher = new PodEventWatcher({
      resolve: (p) => `${s.base}/${p.metadata!.name}`,
      onEvent: (_ns, _name, e) => events.push(e),
      concurrency: 2,
    });
    watcher.sync(
      instance("busy"),
      [0, 1, 2, 3].map((j) => readyPod(`busy-${j}`)),
    );
    await vi.waitFor(() => expect(s.held.length).toBe(2));
    watcher.sync(instance("drain"), [readyPod("drain-0", true)]);
    await vi.waitFor(() => expect(s.asked).toContain("drain-0"));
    s.release();
    await vi.waitFor(() =>
      expect(events.map((e) => e.message)).toContain("pod drain-0 started draining with 0 call(s)"),
    );
  });
});
