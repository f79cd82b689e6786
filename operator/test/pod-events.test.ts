// Events an operator watches for, from what the operator sees of each pod:
// drain started (with the calls it holds), drain finished, worker restarted.
import { describe, expect, it } from "vitest";
import { podEvents, type PodView } from "../src/probe/pod-events.ts";

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
