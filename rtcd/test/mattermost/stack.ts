// One Mattermost deployment on loopback around the rtcd under test:
// PostgreSQL, the Mattermost server with the Calls plugin, one or more
// rtcds (ours or Mattermost's, through the same code path) behind one host
// name, and the Calls-client driver. stop() ends everything it started,
// whatever failed; tails() is what a failing test prints.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@mattermost-rtcd/e2e/cluster";
import { buildRealRtcd } from "../support/go-build.ts";
import type { Impl } from "../support/procs.ts";
import { buildAll, type Built } from "./build.ts";
import { buildDriver, Driver } from "./driver.ts";
import { startMattermost, type Mattermost } from "./mattermost.ts";
import { startPostgres, type Postgres } from "./postgres.ts";
import { tailOf } from "./proc.ts";
import { startRtcdUnderTest, type RtcdUnderTest } from "./rtcd.ts";

export const RTCD_NAME = "rtcd.calls.test";
// What the chart's notes ask users to choose: a client ID and a key of at least 32 characters.
const CLIENT_ID = "mattermost";
const AUTH_KEY = "calls-e2e-auth-key-0123456789abcdefghij";

export interface StackOptions {
  impl: Impl;
  /** How many rtcds answer for RTCD_NAME (127.0.0.11, .12, ...). */
  rtcds?: number;
  /** taskset CPU lists of the rtcds: one for all, or one per rtcd. */
  rtcdCPUs?: string | string[];
  withDriver?: boolean;
}

export interface Stack {
  dir: string;
  built: Built;
  pg: Postgres;
  mm: Mattermost;
  rtcds: RtcdUnderTest[];
  driver: Driver | undefined;
  addresses: string[];
  tails(): string;
  stop(): Promise<void>;
}

export function rtcdAddress(i: number): string {
  return `127.0.0.${11 + i}`;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const [built, realRtcd, driverBin] = await Promise.all([
    buildAll(),
    buildRealRtcd(),
    o.withDriver === false ? Promise.resolve("") : buildDriver(),
  ]);
  const dir = mkdtempSync(join(tmpdir(), `mm-calls-${o.impl}-`));
  // PostgreSQL runs as its own user and must reach its data directory inside.
  chmodSync(dir, 0o755);
  const started: { stop(): Promise<void> }[] = [];
  const partial: Partial<Stack> = { dir, built, rtcds: [] };
  const tails = () => {
    const parts: string[] = [];
    for (const r of partial.rtcds ?? []) parts.push(`--- ${r.impl} ${r.host}\n${tailOf(r.proc.logFile, 25)}`);
    if (partial.mm) {
      parts.push(`--- mattermost (stdout)\n${tailOf(partial.mm.logFile, 15)}`);
      parts.push(`--- mattermost.log (server and plugin)\n${tailOf(partial.mm.pluginLog, 25)}`);
    }
    if (partial.driver) parts.push(`--- driver\n${tailOf(partial.driver.logFile, 15)}`);
    return parts.join("\n");
  };
  // Logs stay on disk with MMRTCD_KEEP_LOGS=1; failing tests print their tails anyway.
  const stop = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    if (!process.env["MMRTCD_KEEP_LOGS"]) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(JSON.stringify({ msg: "logs kept", dir }) + "\n");
  };
  try {
    const pg = await startPostgres(join(dir, "pg"));
    started.push(pg);
    partial.pg = pg;
    const apiPort = await freePort();
    const n = o.rtcds ?? 1;
    for (let i = 0; i < n; i++) {
      const r = await startRtcdUnderTest({
        impl: o.impl,
        realBinary: realRtcd,
        dir: join(dir, `rtcd-${i}`),
        host: rtcdAddress(i),
        apiPort,
        clientID: CLIENT_ID,
        authKey: AUTH_KEY,
        ...(o.rtcdCPUs ? { cpus: typeof o.rtcdCPUs === "string" ? o.rtcdCPUs : o.rtcdCPUs[i]! } : {}),
      });
      started.push(r);
      partial.rtcds!.push(r);
    }
    const addresses = partial.rtcds!.map((r) => r.host);
    const mm = await startMattermost({
      dir: join(dir, "mm"),
      mattermost: built.mattermost,
      serverDir: built.serverDir,
      pluginBundle: built.pluginBundle,
      dataSource: pg.dataSource,
      rtcdURL: `http://${RTCD_NAME}:${apiPort}`,
      clientID: CLIENT_ID,
      authKey: AUTH_KEY,
      hosts: { [RTCD_NAME]: addresses },
    });
    started.push(mm);
    partial.mm = mm;
    if (driverBin) {
      const d = new Driver(
        driverBin,
        mm.url,
        join(built.ltDir, "samples", "screen_h.ivf"),
        join(dir, "driver.log"),
      );
      started.push(d);
      partial.driver = d;
    }
    return { ...(partial as Stack), addresses, tails, stop, driver: partial.driver };
  } catch (err) {
    const msg = `${String(err)}\n${tails()}`;
    await stop();
    throw new Error(msg, { cause: err });
  }
}
