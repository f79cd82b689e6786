// Where a new session of a call goes (worker-load.ts's placeSession): the
// call's own worker until it holds consumersPerWorker consumers, then the
// least loaded worker.
import { describe, expect, test } from "vitest";
import { placeSession } from "../src/media/worker-load.ts";

const w = (name: string, consumers: number, recent = 0, sessions = 0) => ({
  name,
  consumers,
  recent,
  sessions,
  cpuSeconds: 0,
});

describe("placing a session of a call", () => {
  test("a new call goes to the least loaded worker", () => {
    const [a, b] = [w("a", 0, 0.5), w("b", 0, 0.1)];
    expect(placeSession([], [a, b], 2).name).toBe("b");
  });

  test("the call's worker while it holds fewer consumers than the limit, however busy", () => {
    const [a, b] = [w("a", 499, 0.9, 40), w("b", 0, 0, 0)];
    expect(placeSession([a], [a, b], 500).name).toBe("a");
  });

  test("at the limit: the least loaded worker", () => {
    const [a, b, c] = [w("a", 500, 0.9), w("b", 10, 0.5), w("c", 0, 0.1)];
    expect(placeSession([a], [a, b, c], 500).name).toBe("c");
  });

  test("a call on several workers fills the first of them with room, in the order it reached them", () => {
    const [a, b, c] = [w("a", 2, 0.1), w("b", 1, 0.6), w("c", 0, 0)];
    expect(placeSession([a, b], [a, b, c], 2).name).toBe("b");
    expect(placeSession([b, a], [a, b, c], 2).name).toBe("b");
  });

  test("every worker of the call full: the least loaded, which may be one of the call's", () => {
    const [a, b] = [w("a", 9, 0.1, 3), w("b", 9, 0.6, 1)];
    expect(placeSession([a, b], [a, b], 2).name).toBe("a");
  });

  test("one worker: everything stays on it", () => {
    const a = w("a", 10_000, 1);
    expect(placeSession([a], [a], 500)).toBe(a);
    expect(placeSession([], [a], 500)).toBe(a);
  });

  test("no live worker is an error", () => {
    expect(() => placeSession([], [], 500)).toThrow();
  });
});
