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
  /**
   * When each session of the call reached each step (ms since the probe
   * began), e.g. "a answer +40, a ice +350, a dtls +980, a rtp +1010, ...":
   * for the log and for tests, not for conditions, whose message must not
   * change from one probe to the next while the cause stays the same.
   */
  steps?: string;
}

/** The latest probe of one pod, both transports. */
export interface PodProbe {
  pod: string;
  /** ISO time the probe finished. */
  at: string;
  results: readonly ProbeOutcome[];
}
