// A child process of the Mattermost harness: output to a log file, a tail of
// it for failure messages, and a stop that always ends what was started.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";

export interface Proc {
  name: string;
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

export function startProc(
  name: string,
  cmd: string,
  args: string[],
  o: { cwd: string; env: Record<string, string>; logFile: string; uid?: number; gid?: number },
): Proc {
  const log = createWriteStream(o.logFile, { flags: "a" });
  const ids = o.uid !== undefined ? { uid: o.uid, gid: o.gid ?? o.uid } : {};
  const proc = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ["ignore", "pipe", "pipe"], ...ids });
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  proc.on("error", () => undefined);
  return { name, proc, logFile: o.logFile, exited };
}

// SIGTERM; what is still running after the grace is killed.
export async function stopProc(p: Proc, graceMs = 8000): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill("SIGTERM");
  const timer = setTimeout(() => p.proc.kill("SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(timer);
}

export function tailOf(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Polls `check` until it holds; `what` names it in the timeout error. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  onTimeout: () => string = () => "",
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${onTimeout()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
