import { describe, expect, it } from "vitest";
import { autoscalePanels, autoscaleSvg, podLabel, podsInOrder, type Timeline } from "./autoscale-timeline.ts";

const A = "rtcd-ramp-5d8c7b9f4-abcde";
const B = "rtcd-ramp-5d8c7b9f4-xyz12";

const tl: Timeline = {
  title: "ramp",
  targetSessionsPerPod: 4,
  samples: [
    { t: 0, pods: [{ name: A, ready: true, terminating: false, calls: 1, sessions: 2 }], desiredReplicas: 1 },
    {
      t: 1,
      pods: [
        { name: A, ready: true, terminating: false, calls: 2, sessions: 6 },
        { name: B, ready: false, terminating: false },
      ],
      desiredReplicas: 2,
      loadPercent: 150,
    },
    {
      t: 2,
      pods: [
        { name: A, ready: true, terminating: true, calls: 0, sessions: 0 },
        { name: B, ready: true, terminating: false, calls: 1, sessions: 2 },
      ],
      desiredReplicas: 1,
      loadPercent: 25,
    },
  ],
  deletions: [{ t: 2, pod: A, sessions: 0, calls: 0 }],
  marks: [{ t: 1, what: "past target" }],
};

describe("the autoscaling ramp's timeline as panels", () => {
  it("labels pods by their ReplicaSet suffix, in the order they appeared", () => {
    expect(podLabel(A)).toBe("pod abcde");
    expect(podsInOrder(tl.samples)).toEqual([A, B]);
  });

  it("draws calls and sessions per pod, leaving out samples where a pod's rtcd did not answer", () => {
    const [calls, sessions] = autoscalePanels(tl);
    expect(calls!.series.map((s) => [s.name, s.points])).toEqual([
      [
        "pod abcde",
        [
          [0, 1],
          [1, 2],
          [2, 0],
        ],
      ],
      ["pod xyz12", [[2, 1]]],
    ]);
    // The target is a flat line over the whole run.
    expect(sessions!.series.at(-1)).toEqual({
      name: "target 4/pod",
      points: [
        [0, 4],
        [2, 4],
      ],
    });
  });

  it("counts ready pods without the terminating ones, and takes desired replicas from status", () => {
    const pods = autoscalePanels(tl)[2]!;
    const byName = Object.fromEntries(pods.series.map((s) => [s.name, s.points.map(([, v]) => v)]));
    expect(byName["ready"]).toEqual([1, 1, 1]);
    expect(byName["terminating"]).toEqual([0, 0, 1]);
    expect(byName["desired (status)"]).toEqual([1, 2, 1]);
  });

  it("puts load against a 100% target: the operator's figure where it wrote one, and the one from /metrics", () => {
    const load = autoscalePanels(tl)[3]!;
    const byName = Object.fromEntries(load.series.map((s) => [s.name, s.points]));
    expect(byName["operator (loadPercent)"]).toEqual([
      [1, 150],
      [2, 25],
    ]);
    // 2/(1x4), 6/(1x4) (B not ready yet), 2/(1x4) (A terminating, its 0 sessions add nothing).
    expect(byName["pods' /metrics"]!.map(([, v]) => v)).toEqual([50, 150, 50]);
  });

  it("renders one deterministic SVG with the marks and the command that regenerates it", () => {
    const svg = autoscaleSvg(tl, "npm run plot:autoscale -- x.json");
    expect(svg).toBe(autoscaleSvg(tl, "npm run plot:autoscale -- x.json"));
    expect(svg).toContain("1 s past target");
    expect(svg).toContain("Regenerate: npm run plot:autoscale -- x.json");
    expect(svg.match(/<polyline/g)?.length).toBeGreaterThanOrEqual(9);
  });
});
