// Background processes the cluster runs: started detached with their output in
// a log file, recorded by pid and binary so `down` stops only what `up` started,
// and checked for ports already taken before anything starts.
import { execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export interface ProcRecord {
  name: string;
  pid: number;
  binary: string;
  log: string;
  /** What it listens on, for `status`. */
  listen: string;
}

export function recordsPath(state: string): string {
  return join(state, "processes.json");
}

export function readRecords(state: string): ProcRecord[] {
  const p = recordsPath(state);
  if (!existsSync(p)) return [];
  try {
    return JSON.parse(readFileSync(p, "utf8")) as ProcRecord[];
  } catch {
    return [];
  }
}

export function writeRecords(state: string, records: ProcRecord[]): void {
  writeFileSync(recordsPath(state), JSON.stringify(records, null, 2) + "\n");
}

/** Alive and still the binary we started (pids get reused). */
/** realpath, or the path itself when it no longer exists (a replaced binary). */
function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

export function isOurs(rec: ProcRecord): boolean {
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  try {
    // The kernel names the executable by its real path: a cache reached
    // through a symbolic link (a cache directory on another disk) must still match.
    const exe = readlinkSync(`/proc/${rec.pid}/exe`).replace(/ \(deleted\)$/, "");
    return exe === rec.binary || exe === realpathOr(rec.binary);
  } catch {
    // No /proc (not Linux): trust the pid.
    return true;
  }
}

export function startDetached(
  name: string,
  binary: string,
  args: string[],
  logFile: string,
  listen: string,
): ProcRecord {
  const fd = openSync(logFile, "a");
  const child = spawn(binary, args, { detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name} (${binary})`);
  return { name, pid: child.pid, binary, log: logFile, listen };
}

export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return "(no log)";
  const all = readFileSync(file, "utf8").trimEnd().split("\n");
  return all.slice(-lines).join("\n");
}

export async function stop(rec: ProcRecord, graceMs = 10_000): Promise<void> {
  if (!isOurs(rec)) return;
  try {
    process.kill(rec.pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurs(rec)) return;
    await sleep(100);
  }
  try {
    process.kill(rec.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A TCP port on loopback that nothing holds right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function portFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** "pid 123 (etcd)" for whatever listens on the port, as far as `ss` can tell. */
export function portHolder(port: number): string {
  try {
    const out = execFileSync("ss", ["-H", "-ltnp", `sport = :${port}`], { encoding: "utf8" });
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    if (m) return `pid ${m[2]} (${m[1]})`;
    return out.trim() ? out.trim() : "an unknown process";
  } catch {
    return "an unknown process (install iproute2 for `ss` to name it)";
  }
}
