// The session's signal queue: a newer client offer supersedes a queued one,
// and a client that outruns its bounds is refused (its session then ends).
import { describe, expect, test } from "vitest";
import { SIGNAL_QUEUE_MAX, SignalQueue } from "../src/media/signal-queue.ts";

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe("SignalQueue", () => {
  test("runs the client's messages in order, only the latest of queued offers", async () => {
    const q = new SignalQueue(
      () => false,
      (err) => {
        throw err;
      },
    );
    const ran: string[] = [];
    const g = gate();
    q.add(() => g.wait); // the worker is busy with something of ours
    q.client(() => void ran.push("offer 1"), true);
    q.client(() => void ran.push("mute"));
    q.client(() => void ran.push("offer 2"), true);
    q.client(() => void ran.push("offer 3"), true);
    expect(q.size).toBe(4);
    g.open();
    const done = gate();
    q.add(done.open);
    await done.wait;
    expect(ran).toEqual(["mute", "offer 3"]);
    expect(q.size).toBe(0);
  });

  test("refuses what is queued past SIGNAL_QUEUE_MAX", () => {
    const q = new SignalQueue(
      () => false,
      () => {},
    );
    q.add(() => new Promise(() => {})); // never done: everything stays queued
    for (let i = 0; i < SIGNAL_QUEUE_MAX; i++) expect(q.client(() => {})).toBeUndefined();
    expect(q.client(() => {})).toBe("signal_queue");
    expect(q.size).toBe(SIGNAL_QUEUE_MAX);
  });
});
