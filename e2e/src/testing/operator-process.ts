// Runs the real operator binary as a child process against the test cluster,
// so integration tests exercise exactly what users run (flags, signals,
// leader election), and can kill it mid-reconcile.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePort } from "../../cluster/index.ts";
import { repoRoot } from "./providers.ts";

// The operator's CLI as a file to run, not a module to import: the child
// process is what the operator image runs.
const MAIN = join(repoRoot, "operator/src/cli/main.ts");

export interface OperatorProcess {
  proc: ChildProcess;
  metricsPort: number;
  probePort: number;
  logs: string[];
  metrics(): Promise<string>;
  /** Sum of a counter/gauge's samples whose labels match all of `labels`. */
  metricValue(name: string, labels?: Record<string, string>): Promise<number>;
  ready(): Promise<boolean>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export async function startOperator(
  kubeconfig: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const probePort = await freePort();
  const proc = spawn(
    process.execPath,
    [
      MAIN,
      "run",
      "--kubeconfig",
      kubeconfig,
      "--metrics-bind-address",
      `127.0.0.1:${metricsPort}`,
      "--health-probe-bind-address",
      `127.0.0.1:${probePort}`,
      "--log-level",
      "debug",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  const logs: string[] = [];
  const collect = (buf: Buffer) => {
    for (const line of buf.toString().split("\n")) if (line) logs.push(line);
    if (logs.length > 5000) logs.splice(0, logs.length - 5000);
  };
  proc.stdout!.on("data", collect);
  proc.stderr!.on("data", collect);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const metrics = async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    return res.text();
  };
  return {
    proc,
    metricsPort,
    probePort,
    logs,
    exited,
    metrics,
    async metricValue(name, labels = {}) {
      const text = await metrics();
      let sum = 0;
      for (const line of text.split("\n")) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const got: Record<string, string> = {};
        for (const kv of (m[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)) got[kv[1]!] = kv[2]!;
        if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[4]);
      }
      return sum;
    },
    async ready() {
      try {
        const res = await fetch(`http://127.0.0.1:${probePort}/readyz`);
        return res.status === 200;
      } catch {
        return false;
      }
    },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
