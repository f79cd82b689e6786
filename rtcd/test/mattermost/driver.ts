// The TypeScript side of the Go Calls-client driver (driver/): sends it
// commands, keeps every event it reports, and waits on conditions over them.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { buildGoModule } from "../support/go-build.ts";
import { tailOf, waitFor } from "./proc.ts";

export const DRIVER_DIR = join(import.meta.dirname, "driver");

export function buildDriver(): Promise<string> {
  return buildGoModule(DRIVER_DIR, "calls-driver", "driver");
}

export interface DriverEvent {
  ev: string;
  user: number;
  t: number;
  [k: string]: unknown;
}

export interface TrackStats {
  id: string;
  kind: string;
  type: string;
  from: string;
  packets: number;
  firstAt: number;
  lastAt: number;
}

export interface UserStats {
  user: number;
  tracks: TrackStats[];
  /** Every remote track ID the client was given, parseable or not. */
  named: string[];
  lossRate: number;
  rtt: number;
  jitter: number;
}

export type Op = "unmute" | "mute" | "screen_on" | "screen_off" | "reconnect" | "leave";

export class Driver {
  readonly events: DriverEvent[] = [];
  private readonly proc: ChildProcess;
  readonly logFile: string;

  constructor(binary: string, siteURL: string, screenIVF: string, logFile: string) {
    this.logFile = logFile;
    const log = createWriteStream(logFile, { flags: "a" });
    this.proc = spawn(binary, ["-url", siteURL, "-screen-ivf", screenIVF], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.proc.stderr!.pipe(log);
    createInterface({ input: this.proc.stdout! }).on("line", (line) => {
      log.write(line + "\n");
      try {
        this.events.push(JSON.parse(line) as DriverEvent);
      } catch {
        // Not ours (a library printing to stdout): kept in the log only.
      }
    });
  }

  private send(cmd: Record<string, unknown>): void {
    this.proc.stdin!.write(JSON.stringify(cmd) + "\n");
  }

  join(user: number, token: string, channel: string): void {
    this.send({ op: "join", user, token, channel });
  }

  op(user: number, op: Op): void {
    this.send({ op, user });
  }

  has(pred: (e: DriverEvent) => boolean): boolean {
    return this.events.some(pred);
  }

  count(pred: (e: DriverEvent) => boolean): number {
    return this.events.filter(pred).length;
  }

  waitFor(
    what: string,
    pred: (e: DriverEvent) => boolean,
    timeoutMs = 30_000,
    from = 0,
  ): Promise<DriverEvent> {
    return waitFor(
      what,
      () => this.events.slice(from).find(pred),
      timeoutMs,
      () => tailOf(this.logFile, 20),
    );
  }

  /** Every user's counters, as of now. */
  async stats(): Promise<Map<number, UserStats>> {
    const from = this.events.length;
    this.send({ op: "stats", user: -1 });
    await this.waitFor("stats", (e) => e.ev === "stats_done", 10_000, from);
    const out = new Map<number, UserStats>();
    for (const e of this.events.slice(from))
      if (e.ev === "stats") out.set(e.user, { ...(e as unknown as UserStats), user: e.user });
    return out;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.on("exit", r));
    this.send({ op: "quit" });
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
