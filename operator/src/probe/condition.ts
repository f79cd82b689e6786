// Pure: the MediaReachable condition from the latest probe of each pod, and
// the events a new probe result is worth (transitions only, so a pod failing
// every interval does not flood the namespace).
import type { PodProbe, ProbeOutcome } from "./types.ts";

export const MEDIA_REACHABLE = "MediaReachable";
const MAX_MESSAGE = 4096;

export interface MediaCondition {
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

export interface ProbeEvent {
  type: "Normal" | "Warning";
  reason: "MediaProbeFailed" | "MediaProbeRecovered";
  message: string;
}

function failure(pod: string, r: ProbeOutcome): string {
  return `pod ${pod}: ${r.transport.toUpperCase()} ${r.reason}: ${r.message}`;
}

/** `probes`: the latest probe of each pod that has been probed (sorted by pod for a stable message). */
export function mediaReachable(probes: readonly PodProbe[]): MediaCondition {
  if (probes.length === 0) {
    return {
      status: "Unknown",
      reason: "Probing",
      message: "waiting for the first media probe of a ready pod",
    };
  }
  const sorted = [...probes].sort((a, b) => a.pod.localeCompare(b.pod));
  const failed = sorted.flatMap((p) => p.results.filter((r) => !r.ok).map((r) => ({ pod: p.pod, r })));
  if (failed.length === 0) {
    return {
      status: "True",
      reason: "AllPodsReachable",
      message: `${sorted.length} pod(s) carry audio both ways over UDP and over TCP`,
    };
  }
  const transports = new Set(failed.map((f) => f.r.transport));
  const reason =
    transports.size > 1 ? "MediaUnreachable" : transports.has("udp") ? "UDPUnreachable" : "TCPUnreachable";
  const message = failed.map((f) => failure(f.pod, f.r)).join("; ");
  return { status: "False", reason, message: message.slice(0, MAX_MESSAGE) };
}

/**
 * The condition an earlier operator process wrote, while this one has probed
 * nothing yet: reporting Unknown instead would write every CR's status twice
 * after each restart (Unknown, then the same answer again).
 */
export function carriedOver(
  conditions: readonly { type: string; status: string; reason?: string; message?: string }[] | undefined,
): MediaCondition | undefined {
  const c = conditions?.find((x) => x.type === MEDIA_REACHABLE);
  if (!c || (c.status !== "True" && c.status !== "False")) return undefined;
  return { status: c.status, reason: c.reason ?? "", message: c.message ?? "" };
}

/**
 * At most one Warning and one Normal Event per pod and probe, each naming
 * every transport that changed: an Event is an API write, and UDP and TCP
 * failing together (a pod that refuses the call) is one fact.
 * `carried`: what an earlier process reported, for a pod this one has not probed yet.
 */
export function probeEvents(
  prev: PodProbe | undefined,
  next: PodProbe,
  carried?: MediaCondition,
): ProbeEvent[] {
  const failed: string[] = [];
  const recovered: string[] = [];
  for (const r of next.results) {
    const before = prev?.results.find((p) => p.transport === r.transport);
    const wasFailing =
      before !== undefined
        ? !before.ok
        : carried?.status === "False" &&
          carried.message.includes(`pod ${next.pod}: ${r.transport.toUpperCase()} `);
    if (!r.ok && !wasFailing) failed.push(failure(next.pod, r));
    else if (r.ok && wasFailing) recovered.push(r.transport.toUpperCase());
  }
  const events: ProbeEvent[] = [];
  if (failed.length) events.push({ type: "Warning", reason: "MediaProbeFailed", message: failed.join("; ") });
  if (recovered.length) {
    events.push({
      type: "Normal",
      reason: "MediaProbeRecovered",
      message: `pod ${next.pod}: ${recovered.join(" and ")} ${recovered.length > 1 ? "work" : "works"} again`,
    });
  }
  return events;
}
