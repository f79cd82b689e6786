import { describe, expect, it } from "vitest";
import { formatReport, judge, MIN_PACKETS, type CallReport } from "./report.ts";
import { pickTarget } from "./target.ts";

const heard = (from: string, packets = 200) => ({
  trackID: `voice_s-${from}_x`,
  from,
  packets,
  firstAfterMs: 40,
});
/** Each participant, and whom it heard. */
const report = (heardBy: Record<string, string[]>): CallReport => ({
  target: "http://10.0.0.1:8045",
  seconds: 5,
  participants: Object.entries(heardBy).map(([name, froms]) => ({
    name,
    sent: 250,
    connected: true,
    tracks: froms.map((f) => heard(f)),
    errors: [],
  })),
});

describe("test call verdict", () => {
  it("passes when every participant heard every other one", () => {
    const r = report({ a: ["b", "c"], b: ["a", "c"], c: ["a", "b"] });
    expect(judge(r)).toEqual({ ok: true, problems: [] });
    expect(formatReport(r)).toContain("OK: every participant heard every other one");
  });

  it("names who missed whom, a connection that failed, and a track with a few stray packets", () => {
    // b hears a twice (two tracks) but never c; c's track from b has a few stray packets.
    const r = report({ a: ["b", "c"], b: ["a", "a"], c: ["a", "b"] });
    r.participants[0]!.connected = false;
    r.participants[2]!.tracks[1]!.packets = MIN_PACKETS - 1;
    const v = judge(r);
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([
      "a did not connect (ICE/DTLS)",
      `b did not hear c (at least ${MIN_PACKETS} packets each)`,
      `c did not hear b (at least ${MIN_PACKETS} packets each)`,
    ]);
    expect(formatReport(r)).toContain("FAILED:");
  });

  it("a track whose ID names nobody in the call counts for nobody", () => {
    const r = report({ a: ["b"], b: ["a"] });
    r.participants[0]!.tracks[0]!.from = undefined;
    expect(judge(r).problems).toEqual([`a did not hear b (at least ${MIN_PACKETS} packets each)`]);
    expect(formatReport(r)).toContain("heard track voice_s-b_x");
  });
});

const pod = (name: string, node: string, ready = true) => ({
  metadata: { name },
  spec: { nodeName: node, containers: [{ ports: [{ name: "api", containerPort: 8045 }] }] },
  status: { podIP: "10.0.0.9", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});
const kwok = (name: string) => ({ metadata: { name, annotations: { "kwok.x-k8s.io/node": "fake" } } });
const real = (name: string) => ({ metadata: { name } });

describe("test call target", () => {
  it("picks a Ready pod on a real node and its API port", () => {
    expect(pickTarget("ns/rtcd", [pod("a", "kwok-1"), pod("b", "n1")], [kwok("kwok-1"), real("n1")])).toEqual(
      {
        pod: "b",
        node: "n1",
        base: "http://10.0.0.9:8045",
      },
    );
  });

  it("refuses simulated nodes with the command that makes real ones", () => {
    expect(() => pickTarget("ns/rtcd", [pod("a", "kwok-1")], [kwok("kwok-1")])).toThrow(
      /simulated nodes.*npm start -- --real-node/,
    );
  });

  it("refuses when nothing is Ready, and when there are no pods", () => {
    expect(() => pickTarget("ns/rtcd", [pod("a", "n1", false)], [real("n1")])).toThrow(
      /none of ns\/rtcd's 1 pods is Ready/,
    );
    expect(() => pickTarget("ns/rtcd", [], [])).toThrow(/has no pods/);
  });
});
