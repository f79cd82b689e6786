// What a media probe found, shared by the I/O (media-call.ts, prober.ts) and
// the pure parts (condition.ts).

export type Transport = "udp" | "tcp";
export const TRANSPORTS: readonly Transport[] = ["udp", "tcp"];

/** Why a synthetic call failed, from the furthest step it reached. */
export type ProbeReason = "JoinFailed" | "ICETimeout" | "DTLSFailed" | "NoMedia";

export interface ProbeOutcome {
  transport: Transport;
  ok: boolean;
  /** "ok", or why not. */
  reason: ProbeReason | "ok";
  message: string;
  durationMs: number;
}

/** The latest probe of one pod, both transports. */
export interface PodProbe {
  pod: string;
  /** ISO time the probe finished. */
  at: string;
  results: readonly ProbeOutcome[];
}
