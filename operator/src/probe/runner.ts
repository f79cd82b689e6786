// Probes one pod: makes sure the operator's probe client is registered on
// that pod's rtcd (admin key, as for Mattermost's client), then one synthetic
// call per transport, one after the other (each bounded by its timeout).
// The WebRTC stack is imported only here, on the first probe.
import { randomBytes } from "node:crypto";
import { ensureRegistered } from "../controller/rtcd-admin.ts";
import { errorMessage } from "../util/errors.ts";
import { TRANSPORTS, type ProbeOutcome } from "./types.ts";

/** The client ID the probe joins calls as; its key lives only in this process. */
export const PROBE_CLIENT_ID = "rtcd-operator-probe";
const probeKey = randomBytes(24).toString("base64url");

export interface PodProbeTarget {
  base: string;
  adminKey: string;
  timeoutMs?: number;
}

export type ProbeFn = (t: PodProbeTarget) => Promise<ProbeOutcome[]>;

export const probePod: ProbeFn = async (t) => {
  const start = Date.now();
  try {
    await ensureRegistered(t.base, { clientID: PROBE_CLIENT_ID, authKey: probeKey }, t.adminKey);
  } catch (err) {
    const message = `registering the probe client: ${errorMessage(err)}`;
    return TRANSPORTS.map((transport) => ({
      transport,
      ok: false,
      reason: "JoinFailed",
      message,
      durationMs: Date.now() - start,
    }));
  }
  const { mediaCall } = await import("./media-call.ts");
  const out: ProbeOutcome[] = [];
  for (const transport of TRANSPORTS) {
    out.push(
      await mediaCall({
        base: t.base,
        clientID: PROBE_CLIENT_ID,
        authKey: probeKey,
        transport,
        ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}),
      }),
    );
  }
  return out;
};
