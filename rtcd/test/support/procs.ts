// Starts an rtcd (the real one or ours) as a child process on free loopback
// ports with its own data directory, and stops it.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { freePort } from "@mattermost-rtcd/e2e/cluster";
import { until } from "./wait.ts";

export type Impl = "rtcd" | "ours";

const REPO = join(import.meta.dirname, "..", "..", "..");
export const OURS_MAIN = join(REPO, "rtcd", "src", "main.ts");

// Node 24 from the root devDependency, whatever node runs the tests.
export function nodeBin(): string {
  const local = join(REPO, "node_modules", ".bin", "node");
  return existsSync(local) ? local : process.execPath;
}

async function bindable(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise((resolve) => {
    const u = createSocket("udp4");
    u.once("error", () => resolve(false));
    u.bind(port, "127.0.0.1", () => u.close(() => resolve(true)));
  });
}

// rtcd's ICE ports must be within [80, 49151] (both UDP and TCP). Ours
// gives each of its workers the next port, so `count` ports from the one
// returned are free (4: any worker count these tests use). Below Linux's
// ephemeral range (32768 up), where the cluster's own connections take
// local ports at any moment and made a second worker's bind fail.
export async function freeICEPort(count = 4): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20000 + Math.floor(Math.random() * (32768 - 20000 - count));
    let free = true;
    for (let p = port; free && p < port + count; p++) free = await bindable(p);
    if (free) return port;
  }
  throw new Error(`no ${count} free ICE ports in a row`);
}

export interface Running {
  impl: Impl;
  url: string;
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

export interface StartOptions {
  impl: Impl;
  realBinary: string;
  dir: string;
  env: Record<string, string>;
  name: string;
  /** The API port, when the caller must know it before rtcd starts (a free one otherwise). */
  apiPort?: number;
  /** Ours: the entry point to run (default the sources, OURS_MAIN; the image runs built JavaScript). */
  main?: string;
}

export async function startRtcd(o: StartOptions): Promise<Running> {
  // Said plainly: spawning a missing file only reports "exit -2".
  if (o.impl === "rtcd" && !existsSync(o.realBinary))
    throw new Error(
      `Mattermost's rtcd is not built at "${o.realBinary}" (go-build.ts buildRealRtcd builds it)`,
    );
  mkdirSync(o.dir, { recursive: true });
  const port = o.apiPort ?? (await freePort());
  const ice = await freeICEPort();
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "",
    HOME: process.env["HOME"] ?? "",
    RTCD_API_HTTP_LISTENADDRESS: `127.0.0.1:${port}`,
    RTCD_RTC_ICEPORTUDP: String(ice),
    RTCD_RTC_ICEPORTTCP: String(ice),
    RTCD_RTC_ICEADDRESSUDP: "127.0.0.1",
    RTCD_RTC_ICEADDRESSTCP: "127.0.0.1",
    RTCD_RTC_UDPSOCKETSCOUNT: "2",
    RTCD_STORE_DATASOURCE: join(o.dir, "db"),
    RTCD_LOGGER_ENABLEFILE: "false",
    RTCD_LOGGER_CONSOLELEVEL: "DEBUG",
    RTCD_LOGGER_CONSOLEJSON: "true",
    ...o.env,
  };
  const logFile = join(o.dir, `${o.name}.log`);
  const log = createWriteStream(logFile, { flags: "a" });
  const [cmd, args] = o.impl === "rtcd" ? [o.realBinary, []] : [nodeBin(), [o.main ?? OURS_MAIN]];
  // The config file path does not exist: defaults, then the environment.
  const proc = spawn(cmd, [...args, "--config", join(o.dir, "absent.toml")], {
    cwd: o.dir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  // A start that times out leaves no process behind (nothing else holds it).
  await until(
    `${o.impl} answering /version`,
    async () => {
      if (proc.exitCode !== null)
        throw new Error(`${o.impl} did not start (exit ${proc.exitCode}):\n${tail(logFile)}`);
      return fetch(`${url}/version`).then(
        (r) => r.ok,
        () => false,
      );
    },
    20_000,
    () => `${o.impl} did not start (exit ${proc.exitCode}):\n${tail(logFile)}`,
  ).catch((err: unknown) => {
    proc.kill("SIGKILL");
    throw err;
  });
  // Ours is not ready until its first CPU load (within a second): wait as
  // Kubernetes would before sending it anything, so that /system answers a
  // measured load. Only "starting" is waited out; draining or unhealthy is
  // the test's to see.
  if (o.impl === "ours")
    await until(`${o.impl} measured its CPU load`, async () => {
      const r = await fetch(`${url}/readyz`);
      const body = (await r.json()) as { status?: string };
      return body.status !== "starting";
    });
  return { impl: o.impl, url, proc, logFile, exited };
}

// SIGTERM; what is still running after the grace is killed.
export async function stopRtcd(r: Running, graceMs = 5000): Promise<number | null> {
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return r.exited;
  r.proc.kill("SIGTERM");
  const timer = setTimeout(() => r.proc.kill("SIGKILL"), graceMs);
  const code = await r.exited;
  clearTimeout(timer);
  return code;
}

export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
