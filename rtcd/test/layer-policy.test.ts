// The per-viewer simulcast layer decision, from consumer scores over time.
import { describe, expect, test } from "vitest";
import { HIGH, LayerPolicy, LOW } from "../src/media/layer-policy.ts";

const S = 1000;

describe("LayerPolicy", () => {
  test("starts at l and moves up only after the backoff of clean reports", () => {
    const p = new LayerPolicy(0);
    expect(p.decide(0, 10)).toBe(LOW);
    expect(p.decide(9 * S, 10)).toBe(LOW);
    expect(p.decide(10 * S, 10)).toBe(HIGH);
  });

  test("a lossy moment restarts the clean period", () => {
    const p = new LayerPolicy(0);
    p.decide(0, 10);
    p.decide(8 * S, 6); // loss
    expect(p.decide(12 * S, 10)).toBe(LOW);
    expect(p.decide(21 * S, 10)).toBe(LOW);
    expect(p.decide(22 * S, 10)).toBe(HIGH);
  });

  test("moves down at once on loss, and waits longer each time before moving up", () => {
    const p = new LayerPolicy(0);
    p.decide(0, 10);
    expect(p.decide(10 * S, 10)).toBe(HIGH);
    expect(p.decide(11 * S, 8)).toBe(HIGH); // a little loss is tolerated
    expect(p.decide(12 * S, 6)).toBe(LOW);
    // 15 s now (10 x 1.5), counted from the first clean report after the drop.
    expect(p.decide(13 * S, 10)).toBe(LOW);
    expect(p.decide(27 * S, 10)).toBe(LOW);
    expect(p.decide(28 * S, 10)).toBe(HIGH);
    expect(p.decide(29 * S, 5)).toBe(LOW);
    expect(p.decide(30 * S, 10)).toBe(LOW);
    expect(p.decide(52 * S, 10)).toBe(LOW); // 22.5 s
    expect(p.decide(53 * S, 10)).toBe(HIGH);
  });

  test("the backoff stops growing at its maximum", () => {
    const p = new LayerPolicy(0, {
      goodScore: 9,
      badScore: 7,
      initialBackoffMs: 10 * S,
      maxBackoffMs: 20 * S,
    });
    let t = 0;
    for (let i = 0; i < 5; i++) {
      while (p.decide(t, 10) !== HIGH) t += S;
      t += S;
      expect(p.decide(t, 1)).toBe(LOW);
    }
    const downAt = t;
    while (p.decide(t, 10) !== HIGH) t += S;
    expect(t - downAt).toBeLessThanOrEqual(21 * S);
  });
});
