// When a piped simulcast track counts as arrived on another worker: every
// layer live at the sender has a score there (the first viewers there wait
// for that, so they start at l as viewers on the sender's worker do).
import { describe, expect, test } from "vitest";
import { layersArrived } from "../src/media/piped-layers.ts";

const score = (encodingIdx: number, s: number) => ({ encodingIdx, ssrc: 1000 + encodingIdx, score: s });

describe("layersArrived", () => {
  test("h alone has arrived while l is live at the sender: not yet (a viewer would start at h)", () => {
    expect(layersArrived(new Set([0, 1]), [score(1, 10)])).toBe(false);
    expect(layersArrived(new Set([0, 1]), [score(0, 0), score(1, 10)])).toBe(false);
  });

  test("every live layer has a score: arrived", () => {
    expect(layersArrived(new Set([0, 1]), [score(0, 7), score(1, 10)])).toBe(true);
  });

  test("a layer the sender does not send is not waited for", () => {
    expect(layersArrived(new Set([1]), [score(1, 10)])).toBe(true);
    expect(layersArrived(new Set(), [])).toBe(true);
  });
});
