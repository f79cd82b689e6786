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

export async function startForPlugin(
  impl: Impl,
  name: string,
  key: string,
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
    env: { RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true", ...passThrough },
  });
  const reg = await fetch(`${r.url}/register`, {
    method: "POST",
    body: JSON.stringify({ clientID: "plugin", authKey: key }),
  });
  if (reg.status !== 201) throw new Error(`registering the plugin with ${impl}: HTTP ${reg.status}`);
  const conn = await PluginConn.connect(r.url, "plugin", key);
  return { r, conn };
}
