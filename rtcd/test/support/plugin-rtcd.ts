// An rtcd for a test file, ours or Mattermost's, as the Calls plugin meets it:
// started on loopback, the plugin registered (self-registration) and its
// WebSocket connected. The worker and cache locations the test run was given
// reach the child process.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRealRtcd } from "./go-build.ts";
import { startRtcd, type Impl, type Running } from "./procs.ts";
import { PluginConn } from "./rtc-peer.ts";
import { until } from "./wait.ts";

export async function startForPlugin(
  impl: Impl,
  name: string,
  key: string,
  env: Record<string, string> = {},
): Promise<{ r: Running; conn: PluginConn }> {
  const realBinary = impl === "rtcd" ? await buildRealRtcd() : "";
  const passThrough: Record<string, string> = {};
  for (const k of ["MEDIASOUP_WORKER_BIN", "MMRTCD_CACHE_DIR"]) {
    const v = process.env[k];
    if (v) passThrough[k] = v;
  }
  const r = await startRtcd({
    impl,
    realBinary,
    dir: mkdtempSync(join(tmpdir(), `rtcd-${name}-`)),
    name,
    env: { RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true", ...passThrough, ...env },
  });
  const reg = await fetch(`${r.url}/register`, {
    method: "POST",
    body: JSON.stringify({ clientID: "plugin", authKey: key }),
  });
  if (reg.status !== 201) throw new Error(`registering the plugin with ${impl}: HTTP ${reg.status}`);
  const conn = await PluginConn.connect(r.url, "plugin", key);
  return { r, conn };
}

/**
 * Waits until rtcd knows the session (GET .../sessions/<id> says 200): a join
 * is handled on its own, so signaling sent right after it could find no
 * session on an rtcd that handles messages concurrently.
 */
export async function untilJoined(
  url: string,
  key: string,
  callID: string,
  sessionIDs: string[],
  timeoutMs = 10_000,
): Promise<void> {
  const auth = `Basic ${Buffer.from(`plugin:${key}`).toString("base64")}`;
  const status = async (sessionID: string) => {
    const res = await fetch(`${url}/calls/${callID}/sessions/${sessionID}`, {
      headers: { authorization: auth },
    });
    await res.text();
    return res.status;
  };
  await until(
    `${sessionIDs.join(", ")} joined`,
    async () => (await Promise.all(sessionIDs.map(status))).every((s) => s === 200),
    timeoutMs,
  );
}
