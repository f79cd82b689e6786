// The operator as a child process (exactly what users run), its Prometheus
// metrics, and CPU/memory read from /proc for it and for the control plane.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, openSync, readdirSync, readFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { freePort } from "@mattermost-rtcd/e2e/cluster";

const REPO = join(import.meta.dirname, "../..");

/**
 * The operator exactly as its image runs it: the same bundle
 * (scripts/image/bundle-operator.sh), built once per benchmark run. Not the
 * TypeScript sources: Node's type stripping and the unbundled module graph
 * add tens of MiB that no deployed operator carries.
 */
function bundle(): string {
  const dir = join(REPO, ".tmp", "bench-operator", "operator");
  execFileSync("bash", [join(REPO, "scripts/image/bundle-operator.sh"), join(dir, "dist")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(REPO, "operator/package.json"), join(dir, "package.json"));
  return join(dir, "dist", "main.js");
}
let built: string | undefined;

/**
 * The runtime settings of the operator image (`ENV NODE_OPTIONS=...` and
 * `ENV MALLOC_...=...` in operator/Dockerfile, the one place they are
 * written), so the benchmark's operator runs as the image's does.
 */
export function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const dockerfile = readFileSync(join(REPO, "operator", "Dockerfile"), "utf8");
  for (const m of dockerfile.matchAll(/^ENV (NODE_OPTIONS|MALLOC_[A-Z_]+)=(\S+)$/gm)) env[m[1]!] = m[2]!;
  if (!env["NODE_OPTIONS"]) throw new Error("operator/Dockerfile sets no NODE_OPTIONS");
  return env;
}
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const kv of (m[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)) labels[kv[1]!] = kv[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

export function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  let s = 0;
  for (const x of samples) {
    if (x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)) s += x.value;
  }
  return s;
}

/** rtcd_operator_api_requests_total summed over codes, keyed "verb resource". */
export function apiRequests(samples: Sample[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of samples) {
    if (x.name !== "rtcd_operator_api_requests_total") continue;
    const k = `${x.labels["verb"]} ${x.labels["resource"]}`;
    m.set(k, (m.get(k) ?? 0) + x.value);
  }
  return m;
}

export function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const m = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) m.set(k, d);
  }
  return new Map([...m].sort(([a], [b]) => a.localeCompare(b)));
}

export const WRITE_VERBS = new Set(["create", "apply", "patch", "update", "delete"]);

export interface ProcStats {
  cpuSeconds: number;
  rssBytes: number;
  /** VmHWM: the peak resident set since the process started. */
  peakRssBytes: number;
}

export function procStats(pid: number): ProcStats | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuSeconds = (Number(f[11]) + Number(f[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { cpuSeconds, rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok"];

/** CPU seconds so far of each control-plane process on this machine (shared with other users). */
export function controlPlaneCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${d}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    const name = CONTROL_PLANE.find((c) => comm.startsWith(c));
    if (!name) continue;
    const s = procStats(Number(d));
    if (s) out[name] = (out[name] ?? 0) + s.cpuSeconds;
  }
  return out;
}

export interface OperatorProcess {
  proc: ChildProcess;
  pid: number;
  logFile: string;
  samples(): Promise<Sample[]>;
  ready(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startOperator(
  kubeconfig: string,
  namespaces: string[],
  resyncPeriod: string,
  logFile: string,
): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const probePort = await freePort();
  const ns = namespaces.flatMap((n) => ["--namespace", n]);
  const fd = openSync(logFile, "a");
  built ??= bundle();
  const proc = spawn(
    process.execPath,
    [
      built,
      "run",
      "--kubeconfig",
      kubeconfig,
      ...ns,
      "--metrics-bind-address",
      `127.0.0.1:${metricsPort}`,
      "--health-probe-bind-address",
      `127.0.0.1:${probePort}`,
      "--resync-period",
      resyncPeriod,
      "--max-concurrent-reconciles",
      "4",
    ],
    {
      stdio: ["ignore", fd, fd],
      env: { ...process.env, ...imageEnv() },
    },
  );
  const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
  return {
    proc,
    pid: proc.pid!,
    logFile,
    async samples() {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return parseMetrics(await res.text());
    },
    async ready() {
      try {
        return (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Seconds the controller-manager's clients have spent waiting on their own
 * client-side rate limiters (--kube-api-qps), summed over verbs, so far.
 * Undefined when the cluster is not the local one or the metric is unreadable.
 */
export async function controllerManagerThrottleSeconds(state: string): Promise<number | undefined> {
  try {
    const recs = JSON.parse(readFileSync(join(state, "processes.json"), "utf8")) as {
      name: string;
      listen?: string;
    }[];
    const listen = recs.find((r) => r.name === "kube-controller-manager")?.listen;
    if (!listen) return undefined;
    const pki = join(state, "pki");
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpsGet(
        `${listen}/metrics`,
        {
          ca: readFileSync(join(pki, "ca.crt")),
          cert: readFileSync(join(pki, "admin.crt")),
          key: readFileSync(join(pki, "admin.key")),
          rejectUnauthorized: false, // the controller-manager serves a self-signed certificate
          headers: { Accept: "text/plain" },
          timeout: 5000,
        },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve(body));
        },
      );
      req.on("error", reject);
    });
    return sum(parseMetrics(text), "rest_client_rate_limiter_duration_seconds_sum");
  } catch {
    return undefined;
  }
}
