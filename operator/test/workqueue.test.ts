import { describe, expect, it } from "vitest";
import { RateLimiter, WorkQueue, type Clock } from "../src/controller/workqueue.ts";

function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let seq = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++seq;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (h) => {
      timers = timers.filter((t) => t.id !== h);
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
  };
}

describe("WorkQueue", () => {
  it("dedupes a key added many times before it is taken", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
  });

  it("never hands a key to two workers; an add during processing re-queues it once done", async () => {
    const q = new WorkQueue();
    q.add("a");
    const k = await q.get();
    q.add("a");
    q.add("a");
    expect(q.length).toBe(0);
    q.done(k!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("a");
  });

  it("wakes a waiting worker and returns undefined after shutdown", async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add("x");
    expect(await p).toBe("x");
    const p2 = q.get();
    q.shutdown();
    expect(await p2).toBeUndefined();
  });

  it("backs off exponentially per key and forget resets it", () => {
    const clock = fakeClock();
    const rl = new RateLimiter({ baseDelayMs: 100, maxDelayMs: 1000, qps: 1000, burst: 1000 }, clock);
    expect([rl.when("a"), rl.when("a"), rl.when("a"), rl.when("a"), rl.when("a")]).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(rl.when("b")).toBe(100);
    rl.forget("a");
    expect(rl.when("a")).toBe(100);
  });

  it("applies the global token bucket once the burst is spent", () => {
    const clock = fakeClock();
    const rl = new RateLimiter({ baseDelayMs: 1, maxDelayMs: 1000, qps: 10, burst: 2 }, clock);
    expect(rl.when("a")).toBe(1);
    expect(rl.when("b")).toBe(1);
    expect(rl.when("c")).toBe(100);
  });

  it("addRateLimited delivers the key only after its backoff", async () => {
    const clock = fakeClock();
    const rl = new RateLimiter({ baseDelayMs: 50, maxDelayMs: 1000, qps: 1000, burst: 1000 }, clock);
    const q = new WorkQueue(rl, clock);
    q.addRateLimited("k");
    expect(q.length).toBe(0);
    clock.advance(49);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("k");
  });

  it("keeps the earliest of two delayed adds", () => {
    const clock = fakeClock();
    const q = new WorkQueue(undefined, clock);
    q.addAfter("k", 1000);
    q.addAfter("k", 10);
    clock.advance(10);
    expect(q.length).toBe(1);
  });
});
