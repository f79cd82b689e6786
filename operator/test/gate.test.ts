import { describe, expect, it } from "vitest";
import { Gate } from "../src/util/gate.ts";

/** A task that runs until release() is called, recording how many ran at once. */
function tracker() {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const releases: (() => void)[] = [];
  const task = (id: number) => async () => {
    running++;
    most = Math.max(most, running);
    started.push(id);
    await new Promise<void>((r) => releases.push(r));
    running--;
    return id;
  };
  return { task, started, releases, most: () => most };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe("Gate", () => {
  it("runs at most `limit` tasks at once, the others in the order they came", async () => {
    const gate = new Gate(2);
    const t = tracker();
    const results = [1, 2, 3, 4, 5].map((id) => gate.run(t.task(id)));
    await settle();
    expect(t.started).toEqual([1, 2]);
    t.releases.shift()!();
    await settle();
    expect(t.started).toEqual([1, 2, 3]);
    // A newcomer after a slot was handed over waits behind the queue.
    results.push(gate.run(t.task(6)));
    await settle();
    expect(t.started).toEqual([1, 2, 3]);
    while (t.started.length < 6 || t.releases.length) {
      t.releases.shift()?.();
      await settle();
    }
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.most()).toBe(2);
  });

  it("frees the slot of a task that fails", async () => {
    const gate = new Gate(1);
    await expect(gate.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await gate.run(() => Promise.resolve("next"))).toBe("next");
  });

  it("refuses a limit below 1", () => {
    expect(() => new Gate(0)).toThrow(/must be >= 1/);
  });
});
