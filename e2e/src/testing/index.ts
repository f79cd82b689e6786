// What integration and e2e tests use to reach a cluster: the one the provider
// gives (providers.ts: the local one by default, kind, or an existing one), a fresh
// namespace per test file that is deleted afterwards, and kubectl/helm runners
// that throw with the tool's own error text.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import type { ClusterInfo } from "../../cluster/index.ts";
import { providerCluster } from "./providers.ts";

export { providerName, kindImages, type ProviderName } from "./providers.ts";
export { useDiagnostics, diagnose, type DiagnosticsOptions } from "./diagnostics.ts";
export { useTestNodes, type TestNodes, type TestNodesOptions } from "./nodes.ts";

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

export interface Namespace {
  readonly name: string;
}

/**
 * A fresh namespace for the calling test file, created before its tests and
 * deleted (without waiting for finalizers) after them.
 */
export function useNamespace(prefix: string): Namespace {
  const name = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 40)}-${randomBytes(3).toString("hex")}`;
  beforeAll(async () => {
    await kubectl(["create", "namespace", name]);
  });
  afterAll(async () => {
    if (process.env["E2E_KEEP_NAMESPACES"]) return;
    await tryKubectl(["delete", "namespace", name, "--wait=false"]);
  });
  return { name };
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what: string;
}

/** Polls until fn returns a value other than undefined/false; the timeout names what and the last error. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: last error: ${last.message}` : "";
      throw new Error(`timed out after ${opts.timeoutMs / 1000}s waiting for ${opts.what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}

/** Parsed `kubectl get -o json`. */
export async function getJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, "-o", "json"])) as T;
}
