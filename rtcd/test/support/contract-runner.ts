// Runs the Go contract runner against one rtcd and collects its per-case
// JSON lines.
import { spawn } from "node:child_process";

export interface CaseResult {
  name: string;
  ok: boolean;
  skipped?: boolean;
  detail?: string;
  seconds?: string;
}

export interface RunnerArgs {
  runner: string;
  url: string;
  impl: "rtcd" | "ours";
  cases: string[];
  adminSecret?: string;
  pid?: number;
  clientID?: string;
  authKey?: string;
}

export function runContract(a: RunnerArgs): Promise<CaseResult[]> {
  const args = ["-url", a.url, "-impl", a.impl, "-cases", a.cases.join(",")];
  if (a.adminSecret) args.push("-admin-secret", a.adminSecret);
  if (a.pid) args.push("-pid", String(a.pid));
  if (a.clientID) args.push("-client-id", a.clientID);
  if (a.authKey) args.push("-auth-key", a.authKey);
  return new Promise((resolve, reject) => {
    const p = spawn(a.runner, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) return reject(new Error(`contract runner exited ${code}: ${err}`));
      const results = out
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as CaseResult);
      resolve(results);
    });
  });
}
