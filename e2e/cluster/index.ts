// The local cluster: real etcd, kube-apiserver, controller-manager and
// scheduler on loopback, plus kwok nodes in three zones. `ensureCluster` is what
// tests and `npm start` call: it reuses a healthy cluster in seconds, or builds
// and starts one.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { ensurePki } from "./certs.ts";
import { binaryOf, components, nodeManifests, ports, SERVICE_IP, writeKubeconfig } from "./control-plane.ts";
import { clusterDir, missingTools, stateDir, toolPath } from "./paths.ts";
import { hostIp } from "./real-node/config.ts";
import { pushedImage } from "./registry.ts";
import { downRealNodes, realNodeStatus, upRealNodes } from "./real-node/node.ts";
import {
  isOurs,
  portFree,
  portHolder,
  readRecords,
  sleep,
  startDetached,
  stop,
  tail,
  writeRecords,
  type ProcRecord,
} from "./processes.ts";

export { toolPath, stateDir, cacheDir, versions } from "./paths.ts";
export { kwokNode, type KwokNodeOptions } from "./control-plane.ts";
export { freePort } from "./processes.ts";
export { REAL_NODE_LABEL, REAL_NODE_TAINT } from "./real-node/config.ts";

/** Our rtcd image as the real nodes pull it: from the cluster's registry, pinned by digest. */
export function realNodeRtcdImage(): { repository: string; tag: string; pullPolicy: "IfNotPresent" } {
  const { repository, tag } = pushedImage(stateDir(), "rtcd");
  return { repository, tag, pullPolicy: "IfNotPresent" };
}

export interface ClusterInfo {
  kubeconfig: string;
  server: string;
  /** KUBECONFIG, and PATH with the cached kubectl and helm first. */
  env: Record<string, string>;
  /** False when E2E_KUBECONFIG points at a cluster we did not start. */
  local: boolean;
}

const log = (msg: string) => process.stderr.write(`[cluster] ${msg}\n`);

function toolsPath(): string {
  const dirs = [dirname(toolPath("kubectl")), dirname(toolPath("helm"))];
  return [...dirs, process.env["PATH"] ?? ""].join(":");
}

function info(kubeconfig: string, server: string, local: boolean): ClusterInfo {
  return { kubeconfig, server, local, env: { KUBECONFIG: kubeconfig, PATH: toolsPath() } };
}

export function kubeconfigPath(): string {
  return join(stateDir(), "kubeconfig");
}

/** Build (once, cached by version) every binary the control plane needs. */
export function build(): void {
  if (missingTools().length === 0) return;
  log(`building ${missingTools().join(", ")} from the Go module proxy (cached afterwards)`);
  const r = spawnSync("bash", [join(clusterDir, "build-bins.sh"), "control-plane"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`building the cluster's binaries failed (exit ${r.status})`);
}

async function apiGet(path: string): Promise<{ status: number; body: string }> {
  const state = stateDir();
  const p = ports();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: p.apiserver,
        path,
        ca: readFileSync(join(state, "pki", "ca.crt")),
        cert: readFileSync(join(state, "pki", "admin.crt")),
        key: readFileSync(join(state, "pki", "admin.key")),
        timeout: 3000,
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

async function apiReady(): Promise<boolean> {
  try {
    return (await apiGet("/readyz")).status === 200;
  } catch {
    return false;
  }
}

/** Running and healthy: every recorded process alive and the API server ready. */
export async function isUp(): Promise<boolean> {
  const recs = readRecords(stateDir());
  return recs.length > 0 && recs.every(isOurs) && (await apiReady());
}

async function waitHealthy(rec: ProcRecord, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isOurs(rec)) {
      throw new Error(`${rec.name} exited while starting; last lines of ${rec.log}:\n${tail(rec.log)}`);
    }
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(
    `${rec.name} did not become healthy in ${timeoutMs / 1000}s; last lines of ${rec.log}:\n${tail(rec.log)}`,
  );
}

function kubectl(args: string[], input?: string): string {
  try {
    return execFileSync(toolPath("kubectl"), args, {
      env: { ...process.env, KUBECONFIG: kubeconfigPath() },
      input,
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (err) {
    const e = err as { stderr?: string };
    throw new Error(`kubectl ${args.join(" ")} failed: ${e.stderr ?? String(err)}`, { cause: err });
  }
}

export interface UpOptions {
  /** Real nodes (containerd + kubelet + kube-proxy in their own netns) to add; 0 for none. */
  realNodes?: number;
}

export async function up(opts: UpOptions = {}): Promise<ClusterInfo> {
  const c = await upControlPlane();
  if (opts.realNodes) {
    const state = stateDir();
    await upRealNodes(
      {
        state,
        pki: ensurePki(join(state, "pki"), SERVICE_IP, [hostIp(state)]),
        apiPort: ports().apiserver,
        adminKubeconfig: c.kubeconfig,
        kubectl,
      },
      opts.realNodes,
    );
  }
  return c;
}

async function upControlPlane(): Promise<ClusterInfo> {
  const state = stateDir();
  const kubeconfig = kubeconfigPath();
  const server = `https://127.0.0.1:${ports().apiserver}`;
  if (await isUp()) return info(kubeconfig, server, true);
  if (readRecords(state).length > 0) {
    log("found a partly running cluster; stopping it and starting afresh");
    await down();
  }
  build();
  const p = ports();
  for (const [what, port] of Object.entries(p)) {
    if (!(await portFree(port))) {
      throw new Error(
        `port ${port} (${what}) is in use by ${portHolder(port)}; stop it or set MMRTCD_CLUSTER_PORT_BASE to move the cluster's ports`,
      );
    }
  }
  mkdirSync(join(state, "logs"), { recursive: true });
  // The real nodes' veth address is in the serving certificate from the start,
  // so nodes can join a cluster that was started without them.
  const pki = ensurePki(join(state, "pki"), SERVICE_IP, [hostIp(state)]);
  writeKubeconfig(kubeconfig, server, pki, "admin");

  const records: ProcRecord[] = [];
  const health: Record<string, () => Promise<boolean>> = {
    etcd: async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${p.etcd}/health`);
        return res.ok;
      } catch {
        return false;
      }
    },
    "kube-apiserver": apiReady,
  };
  try {
    for (const c of components(state, pki, p)) {
      const rec = startDetached(c.name, binaryOf(c), c.args, join(state, "logs", `${c.name}.log`), c.listen);
      records.push(rec);
      writeRecords(state, records);
      const check = health[c.name];
      if (check) await waitHealthy(rec, check, 60_000);
      log(`${c.name} started (pid ${rec.pid})`);
    }
    const nodes = Number(process.env["MMRTCD_CLUSTER_NODES"] ?? 3);
    kubectl(
      ["apply", "-f", "-"],
      nodeManifests(nodes)
        .map((n) => stringify(n))
        .join("---\n"),
    );
    const allRunning = async () => records.every(isOurs);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const dead = records.find((r) => !isOurs(r));
      if (dead) throw new Error(`${dead.name} exited; last lines of ${dead.log}:\n${tail(dead.log)}`);
      const out = kubectl([
        "get",
        "nodes",
        "-o",
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
      ]);
      const ready = out.split("\n").filter((s) => s === "True").length;
      // Pods need the namespace's default ServiceAccount, made by the controller-manager.
      const sa = spawnSync(toolPath("kubectl"), ["get", "serviceaccount", "default", "-n", "default"], {
        env: { ...process.env, KUBECONFIG: kubeconfig },
      });
      if (ready >= nodes && sa.status === 0 && (await allRunning())) break;
      if (Date.now() > deadline) {
        throw new Error(
          `only ${ready}/${nodes} nodes became Ready in 90s; kwok log:\n${tail(join(state, "logs", "kwok.log"))}`,
        );
      }
      await sleep(500);
    }
    log(`up: ${nodes} nodes Ready; KUBECONFIG=${kubeconfig}`);
    return info(kubeconfig, server, true);
  } catch (err) {
    for (const r of records.reverse()) await stop(r, 3000);
    throw err;
  }
}

export type RestartableComponent = "etcd" | "kube-apiserver";

/**
 * Kills one control-plane process the way a crash or an OOM kill does
 * (SIGKILL: no graceful shutdown, connections reset), then starts it again
 * with the same command line and waits until it is healthy. Tests use it to
 * prove that clients converge across an API server or etcd restart.
 */
export async function restartComponent(name: RestartableComponent): Promise<void> {
  const state = stateDir();
  const records = readRecords(state);
  const rec = records.find((r) => r.name === name);
  if (!rec || !isOurs(rec)) throw new Error(`${name} is not running in the local cluster (${state})`);
  process.kill(rec.pid, "SIGKILL");
  const port = name === "etcd" ? ports().etcd : ports().apiserver;
  await waitUntil(async () => !isOurs(rec) && (await portFree(port)), 30_000, `${name} to exit`);
  const pki = ensurePki(join(state, "pki"), SERVICE_IP, [hostIp(state)]);
  const c = components(state, pki, ports()).find((x) => x.name === name)!;
  const fresh = startDetached(c.name, binaryOf(c), c.args, rec.log, c.listen);
  writeRecords(
    state,
    records.map((r) => (r === rec ? fresh : r)),
  );
  const healthy =
    name === "etcd"
      ? async () => {
          try {
            return (await fetch(`http://127.0.0.1:${ports().etcd}/health`)).ok;
          } catch {
            return false;
          }
        }
      : apiReady;
  // A cold kube-apiserver runs its post-start hooks before /readyz passes: over
  // a minute on a loaded 2-core machine.
  await waitHealthy(fresh, healthy, 180_000);
  log(`${name} restarted (pid ${fresh.pid})`);
}

async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(100);
  }
}

/** Stops only the processes `up` recorded, then removes the cluster's state. */
export async function down(): Promise<string[]> {
  const state = stateDir();
  // Real nodes first: their kubelets talk to the API server until stopped.
  const stopped: string[] = await downRealNodes(state);
  const recs = readRecords(state);
  // Reverse start order: nodes' controllers first, etcd last.
  for (const rec of [...recs].reverse()) {
    if (isOurs(rec)) {
      await stop(rec);
      stopped.push(`${rec.name} (pid ${rec.pid})`);
    }
  }
  if (existsSync(state)) rmSync(state, { recursive: true, force: true });
  return stopped;
}

export async function status(): Promise<string> {
  const state = stateDir();
  const recs = readRecords(state);
  if (recs.length === 0) return `not running (state dir ${state} has no cluster)`;
  const lines = recs.map(
    (r) =>
      `${r.name.padEnd(24)} ${isOurs(r) ? "running" : "STOPPED"}  pid ${String(r.pid).padEnd(8)} ${r.listen}  log ${r.log}`,
  );
  const ready = await apiReady();
  lines.push(...realNodeStatus(state));
  lines.push(`api server ${ready ? "ready" : "NOT ready"}; kubeconfig ${kubeconfigPath()}`);
  if (ready) {
    try {
      lines.push(kubectl(["get", "nodes", "-L", "topology.kubernetes.io/zone"]).trimEnd());
    } catch (err) {
      lines.push(String(err));
    }
  }
  return lines.join("\n");
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function envExports(): string {
  const dirs = [dirname(toolPath("kubectl")), dirname(toolPath("helm"))].join(":");
  return `export KUBECONFIG=${shellQuote(kubeconfigPath())}\nexport PATH=${shellQuote(dirs)}:"$PATH"\n`;
}

/**
 * The cluster tests and `npm start` use: E2E_KUBECONFIG names an existing
 * cluster (kind, or any other) to use as is; otherwise the local one, started
 * when needed.
 */
export async function ensureCluster(): Promise<ClusterInfo> {
  const external = process.env["E2E_KUBECONFIG"];
  if (external) {
    if (!existsSync(external)) throw new Error(`E2E_KUBECONFIG=${external} does not exist`);
    return info(external, "(from E2E_KUBECONFIG)", false);
  }
  return up();
}
