// kubectl and helm against the cluster the provider gives (providers.ts: the
// local one by default, kind, or an existing one), throwing with the tool's own
// error text. A leaf of the testing helpers: it imports none of them but
// providers.ts, so every other helper can build on it without a cycle.
import { execFile } from "node:child_process";
import type { ClusterInfo } from "../../cluster/index.ts";
import { providerCluster } from "./providers.ts";

let cluster: Promise<ClusterInfo> | undefined;

export function useCluster(): Promise<ClusterInfo> {
  cluster ??= providerCluster();
  return cluster;
}

export interface RunOptions {
  input?: string;
  /** Resolve with the failure instead of throwing. */
  allowFailure?: boolean;
}

export interface RunResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

async function run(tool: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const c = await useCluster();
  return new Promise((resolve, reject) => {
    const child = execFile(
      tool,
      args,
      { env: { ...process.env, ...c.env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err && !opts.allowFailure) {
          reject(new Error(`${tool} ${args.join(" ")} failed: ${stderr || err.message}`, { cause: err }));
          return;
        }
        resolve({ ok: !err, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? "");
  });
}

export async function kubectl(args: string[], opts: { input?: string } = {}): Promise<string> {
  return (await run("kubectl", args, opts)).stdout;
}

export function tryKubectl(args: string[], opts: { input?: string } = {}): Promise<RunResult> {
  return run("kubectl", args, { ...opts, allowFailure: true });
}

export async function helm(args: string[], opts: { input?: string } = {}): Promise<string> {
  return (await run("helm", args, opts)).stdout;
}

export function tryHelm(args: string[], opts: { input?: string } = {}): Promise<RunResult> {
  return run("helm", args, { ...opts, allowFailure: true });
}

/** Parsed `kubectl get -o json`. */
export async function getJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, "-o", "json"])) as T;
}
