// The rtcd under test, ours or Mattermost's v1.2.6, started the same way:
// self-registration off, the admin API on, and the Mattermost client
// registered through it first, as our chart's notes tell users to.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { freeICEPort, nodeBin, OURS_MAIN, type Impl } from "../support/procs.ts";
import { startProc, stopProc, tailOf, waitFor, type Proc } from "./proc.ts";

export interface RtcdUnderTest {
  impl: Impl;
  /** Where it listens (the API and ICE). */
  host: string;
  apiPort: number;
  url: string;
  proc: Proc;
  metrics(): Promise<string>;
  system(): Promise<{ cpu_load: number }>;
  stop(): Promise<void>;
}

export interface RtcdOptions {
  impl: Impl;
  realBinary: string;
  dir: string;
  host: string;
  apiPort: number;
  clientID: string;
  authKey: string;
  /** CPUs for taskset, e.g. "0" (benchmarks). */
  cpus?: string;
  env?: Record<string, string>;
}

export async function startRtcdUnderTest(o: RtcdOptions): Promise<RtcdUnderTest> {
  mkdirSync(o.dir, { recursive: true });
  const ice = await freeICEPort();
  const adminKey = randomBytes(24).toString("hex");
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "",
    HOME: process.env["HOME"] ?? "",
    RTCD_API_HTTP_LISTENADDRESS: `${o.host}:${o.apiPort}`,
    RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "false",
    RTCD_API_SECURITY_ENABLEADMIN: "true",
    RTCD_API_SECURITY_ADMINSECRETKEY: adminKey,
    RTCD_RTC_ICEPORTUDP: String(ice),
    RTCD_RTC_ICEPORTTCP: String(ice),
    RTCD_RTC_ICEADDRESSUDP: o.host,
    RTCD_RTC_ICEADDRESSTCP: o.host,
    RTCD_RTC_ICEHOSTOVERRIDE: o.host,
    RTCD_STORE_DATASOURCE: join(o.dir, "db"),
    RTCD_LOGGER_ENABLEFILE: "false",
    RTCD_LOGGER_CONSOLELEVEL: "DEBUG",
    RTCD_LOGGER_CONSOLEJSON: "true",
    ...o.env,
  };
  // MMRTCD_OURS_MAIN runs another checkout of our rtcd (e.g. a candidate fix) through the same harness.
  const ours = process.env["MMRTCD_OURS_MAIN"] || OURS_MAIN;
  const [cmd, args] = o.impl === "rtcd" ? [o.realBinary, []] : [nodeBin(), [ours]];
  const argv = [...args, "--config", join(o.dir, "absent.toml")];
  const logFile = join(o.dir, `${o.impl}.log`);
  const proc = o.cpus
    ? startProc(o.impl, "taskset", ["-c", o.cpus, cmd, ...argv], { cwd: o.dir, env, logFile })
    : startProc(o.impl, cmd, argv, { cwd: o.dir, env, logFile });
  const url = `http://${o.host}:${o.apiPort}`;
  await waitFor(
    `${o.impl} to answer /version`,
    async () => {
      if (proc.proc.exitCode !== null) throw new Error(`${o.impl} exited:\n${tailOf(logFile)}`);
      return fetch(`${url}/version`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      );
    },
    30_000,
    () => tailOf(logFile),
  );
  const r = await fetch(`${url}/register`, {
    method: "POST",
    headers: { Authorization: `Basic ${Buffer.from(`admin:${adminKey}`).toString("base64")}` },
    body: JSON.stringify({ clientID: o.clientID, authKey: o.authKey }),
  });
  if (!r.ok) throw new Error(`${o.impl}: registering ${o.clientID} failed: ${r.status} ${await r.text()}`);
  return {
    impl: o.impl,
    host: o.host,
    apiPort: o.apiPort,
    url,
    proc,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    system: async () => (await fetch(`${url}/system`)).json() as Promise<{ cpu_load: number }>,
    stop: () => stopProc(proc),
  };
}

/** Sessions an rtcd hosts, from its metrics (groupID is the Mattermost client, not the call). */
export async function sessionsOn(r: RtcdUnderTest): Promise<number> {
  let n = 0;
  for (const m of (await r.metrics()).matchAll(/^rtcd_rtc_sessions_total\{[^}]*\} (\S+)$/gm))
    n += Number(m[1]);
  return n;
}
