// The waits every integration test relies on: waitFor returns as soon as the
// condition holds and names what it waited for on timeout; quietFor lasts its
// whole period but fails as soon as the "nothing happens" check does.
import { describe, expect, test } from "vitest";
import { quietFor, waitFor } from "../src/testing/wait.ts";

describe("waitFor", () => {
  test("returns the first value that is not undefined/false", async () => {
    let n = 0;
    const v = await waitFor(async () => (++n >= 3 ? `after ${n}` : undefined), {
      timeoutMs: 5000,
      intervalMs: 10,
      what: "n to reach 3",
    });
    expect(v).toBe("after 3");
  });

  test("times out naming what it waited for and the last error", async () => {
    await expect(
      waitFor(
        async () => {
          throw new Error("connection refused");
        },
        { timeoutMs: 50, intervalMs: 10, what: "the operator's /readyz" },
      ),
    ).rejects.toThrow(/waiting for the operator's \/readyz: last error: connection refused/);
  });
});

describe("quietFor", () => {
  test("lasts the whole period and checks all along", async () => {
    let checks = 0;
    const t0 = Date.now();
    await quietFor(200, { intervalMs: 20, check: () => void checks++ });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
    expect(checks).toBeGreaterThan(3);
  });

  test("fails as soon as the check does, not at the end", async () => {
    let n = 0;
    const t0 = Date.now();
    await expect(
      quietFor(10_000, {
        intervalMs: 10,
        check: () => {
          if (++n === 3) throw new Error("the pod restarted");
        },
      }),
    ).rejects.toThrow("the pod restarted");
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
