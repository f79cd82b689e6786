// The pure parts of the media probe: the MediaReachable condition from the
// latest probe of each pod, and the events a new probe result is worth.
import { describe, expect, it } from "vitest";
import { mediaReachable, probeEvents } from "../src/probe/condition.ts";
import type { PodProbe, ProbeOutcome, ProbeReason, Transport } from "../src/probe/types.ts";

const AT = "2026-01-01T00:00:00Z";
const ok = (transport: Transport): ProbeOutcome => ({
  transport,
  ok: true,
  reason: "ok",
  message: "audio both ways",
  durationMs: 900,
});
const bad = (transport: Transport, reason: ProbeReason, message = "why"): ProbeOutcome => ({
  transport,
  ok: false,
  reason,
  message,
  durationMs: 10_000,
});
const pod = (name: string, ...results: ProbeOutcome[]): PodProbe => ({ pod: name, at: AT, results });

describe("MediaReachable", () => {
  it("is Unknown until a pod has been probed", () => {
    expect(mediaReachable([])).toMatchObject({ status: "Unknown", reason: "Probing" });
  });

  it("is True when every probed pod passes both transports", () => {
    const c = mediaReachable([pod("a", ok("udp"), ok("tcp")), pod("b", ok("udp"), ok("tcp"))]);
    expect(c).toMatchObject({ status: "True", reason: "AllPodsReachable" });
    expect(c.message).toMatch(/2 pod/);
  });

  it("says UDPUnreachable, naming the pod and why, when only UDP fails", () => {
    const c = mediaReachable([
      pod("a", ok("udp"), ok("tcp")),
      pod("b", bad("udp", "ICETimeout", "ICE over UDP did not connect"), ok("tcp")),
    ]);
    expect(c).toMatchObject({ status: "False", reason: "UDPUnreachable" });
    expect(c.message).toBe("pod b: UDP ICETimeout: ICE over UDP did not connect");
  });

  it("says TCPUnreachable when only TCP fails", () => {
    const c = mediaReachable([pod("a", ok("udp"), bad("tcp", "DTLSFailed"))]);
    expect(c).toMatchObject({ status: "False", reason: "TCPUnreachable" });
    expect(c.message).toBe("pod a: TCP DTLSFailed: why");
  });

  it("says MediaUnreachable when both transports fail, on one pod or across pods", () => {
    expect(mediaReachable([pod("a", bad("udp", "NoMedia"), bad("tcp", "NoMedia"))]).reason).toBe(
      "MediaUnreachable",
    );
    const c = mediaReachable([
      pod("a", bad("udp", "ICETimeout"), ok("tcp")),
      pod("b", ok("udp"), bad("tcp", "JoinFailed")),
    ]);
    expect(c.reason).toBe("MediaUnreachable");
    expect(c.message).toBe("pod a: UDP ICETimeout: why; pod b: TCP JoinFailed: why");
  });
});

describe("probe events", () => {
  it("warns when a transport starts failing, once, and says when it recovers", () => {
    const failing = pod("b", bad("udp", "ICETimeout", "no ICE"), ok("tcp"));
    expect(probeEvents(undefined, pod("b", ok("udp"), ok("tcp")))).toEqual([]);
    expect(probeEvents(pod("b", ok("udp"), ok("tcp")), failing)).toEqual([
      { type: "Warning", reason: "MediaProbeFailed", message: "pod b: UDP ICETimeout: no ICE" },
    ]);
    // Still failing, even for another reason: not a transition.
    expect(probeEvents(failing, pod("b", bad("udp", "NoMedia"), ok("tcp")))).toEqual([]);
    expect(probeEvents(failing, pod("b", ok("udp"), ok("tcp")))).toEqual([
      { type: "Normal", reason: "MediaProbeRecovered", message: "pod b: UDP works again" },
    ]);
  });

  it("one Event per pod and probe, naming every transport that changed (an Event is an API write)", () => {
    const both = pod("d", bad("udp", "JoinFailed", "refused"), bad("tcp", "JoinFailed", "refused"));
    expect(probeEvents(undefined, both)).toEqual([
      {
        type: "Warning",
        reason: "MediaProbeFailed",
        message: "pod d: UDP JoinFailed: refused; pod d: TCP JoinFailed: refused",
      },
    ]);
    expect(probeEvents(both, pod("d", ok("udp"), ok("tcp")))).toEqual([
      { type: "Normal", reason: "MediaProbeRecovered", message: "pod d: UDP and TCP work again" },
    ]);
  });

  it("warns on a pod's first probe when it fails", () => {
    expect(probeEvents(undefined, pod("c", ok("udp"), bad("tcp", "ICETimeout")))).toEqual([
      { type: "Warning", reason: "MediaProbeFailed", message: "pod c: TCP ICETimeout: why" },
    ]);
  });
});
