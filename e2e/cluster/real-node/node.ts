// `up --real-node`: real nodes next to the kwok ones. Each is containerd +
// kubelet + kube-proxy inside its own network namespace (entered with
// `nsenter --net` only, so kubelet's volume mounts stay visible to
// containerd); the host runs CoreDNS, a forwarder that makes the loopback
// API server reachable on the host's veth address, and the OCI registry the
// nodes pull every image from (registry.ts).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { ensureClientCert, type Pki } from "../certs.ts";
import { writeKubeconfig } from "../control-plane.ts";
import { clusterDir, toolPath } from "../paths.ts";
import { isOurs, readRecords, sleep, stop, tail, writeRecords, type ProcRecord } from "../processes.ts";
import {
  apiEndpointSlice,
  cniConfig,
  containerdConfig,
  corefile,
  kubeletArgs,
  kubeletConfig,
  kubeProxyConfig,
  realNode,
  registryConfigPath,
  type RealNode,
} from "./config.ts";
import {
  pushImages,
  stalePushes,
  registryAddress,
  registryBinary,
  startRegistry,
  writeHostsToml,
  type ImageName,
} from "../registry.ts";
import { hostNames, isNodeNetns } from "./names.ts";
import {
  ensureNodeNet,
  ensurePodRoutes,
  ensureSwitch,
  netnsExists,
  ourNetns,
  removeNetworks,
} from "./net.ts";
import {
  cgroupPids,
  ensureCgroups,
  killAll,
  podNetnsInodes,
  removeCgroups,
  removePodNetns,
  shimPids,
  unmountAll,
} from "./runtime.ts";
import { missingCapabilities } from "./preflight.ts";

// A cluster started before real nodes were asked for has no veth address in
// its serving certificate; "localhost" is in every one.
const TLS_NAME = "localhost";

const log = (msg: string) => process.stderr.write(`[real-node] ${msg}\n`);

export interface RealNodeContext {
  state: string;
  pki: Pki;
  apiPort: number;
  adminKubeconfig: string;
  kubectl: (args: string[], input?: string) => string;
}

function recordsDir(state: string): string {
  return join(state, "real-node");
}

/** The log file of a real-node process (`api-forwarder`, `real-node-1/kubelet`...). */
export function realNodeLog(state: string, name: string): string {
  return join(recordsDir(state), "logs", `${name.replace(/\//g, "-")}.log`);
}

const IMAGES = ["pause", "rtcd", "operator", "curl"] as const;

/**
 * Images every node gets: the pod sandbox, rtcd, the operator and the `helm
 * test` image. MMRTCD_REAL_NODE_IMAGES (e.g. "pause") narrows the list for
 * working on the node itself while the big images build.
 */
export function buildImages(): Partial<Record<ImageName, string>> {
  const t0 = Date.now();
  const wanted = (process.env["MMRTCD_REAL_NODE_IMAGES"] ?? IMAGES.join(" ")).split(/[\s,]+/).filter(Boolean);
  const r = spawnSync("bash", [join(clusterDir, "..", "images", "build-images.sh"), ...wanted], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`building the images failed (exit ${r.status})`);
  const tars: Partial<Record<ImageName, string>> = {};
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const m = /\/(pause|rtcd|operator|curl)-[0-9a-f]+\.tar$/.exec(line);
    if (m?.[1]) tars[m[1] as ImageName] = line;
  }
  for (const k of wanted) {
    if (!tars[k as ImageName]) throw new Error(`build-images.sh printed no ${k} image`);
  }
  log(`images ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return tars;
}

function buildNodeBinaries(): void {
  const need = [toolPath("kubelet"), toolPath("kube-proxy"), corednsPath(), registryBinary()];
  if (need.every((p) => existsSync(p))) return;
  log("building kubelet, kube-proxy, CoreDNS and the registry from the Go module proxy (cached afterwards)");
  const r = spawnSync("bash", [join(clusterDir, "build-bins.sh"), "node"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`building the node's binaries failed (exit ${r.status})`);
}

export function corednsPath(): string {
  const dir = join(toolPath("kubectl"), "..", "..");
  const v = /COREDNS_VERSION=\$\{COREDNS_VERSION:-([^}]+)\}/.exec(
    execFileSync("cat", [join(clusterDir, "versions.env")], { encoding: "utf8" }),
  )?.[1];
  return join(dir, `coredns-${process.env["COREDNS_VERSION"] || v}`, "coredns");
}

/** Starts `binary` detached, in the netns when given (nsenter execs, so the pid and exe are the binary's). */
function startIn(
  netns: string | undefined,
  name: string,
  binary: string,
  args: string[],
  logFile: string,
  listen: string,
): ProcRecord {
  const fd = openSync(logFile, "a");
  const [cmd, argv] = netns
    ? ["nsenter", [`--net=/run/netns/${netns}`, "--", binary, ...args]]
    : [binary, args];
  const child = spawn(cmd, argv, { detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  return { name, pid: child.pid, binary, log: logFile, listen };
}

async function waitFor(
  what: string,
  rec: ProcRecord | undefined,
  ok: () => boolean,
  ms: number,
): Promise<void> {
  const start = Date.now();
  const deadline = start + ms;
  while (Date.now() < deadline) {
    if (ok()) return;
    // Until nsenter has exec'd, the pid's binary is nsenter's: judge by the pid alone at first.
    if (rec && (!existsSync(`/proc/${rec.pid}`) || (Date.now() - start > 2000 && !isOurs(rec)))) {
      throw new Error(`${rec.name} exited while starting; last lines of ${rec.log}:\n${tail(rec.log)}`);
    }
    await sleep(250);
  }
  throw new Error(
    `${what} not ready in ${ms / 1000}s${rec ? `; last lines of ${rec.log}:\n${tail(rec.log)}` : ""}`,
  );
}

export function realNodeCount(state: string): number {
  return readRecords(recordsDir(state)).filter((r) => r.name.endsWith("/kubelet")).length;
}

export function realNodes(state: string, count = realNodeCount(state)): RealNode[] {
  return Array.from({ length: count }, (_, i) => realNode(state, i + 1));
}

export async function upRealNodes(ctx: RealNodeContext, count: number): Promise<RealNode[]> {
  const missing = missingCapabilities();
  if (missing.length) throw new Error(`a real node cannot run here: ${missing.join("; ")}`);
  const dir = recordsDir(ctx.state);
  // Namespace, veth and cgroup names are this state dir's own (names.ts); the
  // subnet is checked against the machine's addresses in ensureSwitch.
  const h = hostNames(ctx.state);
  if (!readRecords(dir).every(isOurs)) {
    log("found partly running real nodes; removing them and starting afresh");
    await downRealNodes(ctx.state);
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(ctx.state, "nodes"), { recursive: true, force: true });
  }
  mkdirSync(join(dir, "logs"), { recursive: true });
  const records = readRecords(dir);
  const have = realNodeCount(ctx.state);
  const nodes = realNodes(ctx.state, Math.max(count, have));
  if (have >= count) {
    // Nodes already up: the working tree's images may have changed since they
    // were pushed (a tar per inputs' hash), and a test must not run the old ones.
    const tars = buildImages();
    const stale = stalePushes(ctx.state, tars);
    if (stale.length) {
      log(`images changed since the nodes started (${stale.join(", ")}): pushing them again`);
      pushImages(ctx.state, tars);
    }
    return nodes;
  }
  buildNodeBinaries();
  const tars = buildImages();
  const hip = `${h.subnet}.1`;
  const save = () => writeRecords(dir, records);
  const logOf = (name: string) => realNodeLog(ctx.state, name);

  ensureSwitch(h, ctx.state);
  // The API server listens on loopback; the nodes reach it on the host's veth address.
  if (!records.some((r) => r.name === "api-forwarder")) {
    const socat = execFileSync("sh", ["-c", "command -v socat"], { encoding: "utf8" }).trim();
    records.push(
      startIn(
        undefined,
        "api-forwarder",
        socat,
        [`TCP-LISTEN:${ctx.apiPort},bind=${hip},fork,reuseaddr`, `TCP:127.0.0.1:${ctx.apiPort}`],
        logOf("api-forwarder"),
        `https://${hip}:${ctx.apiPort}`,
      ),
    );
    save();
  }
  ctx.kubectl(["apply", "-f", "-"], stringify(apiEndpointSlice(hip, ctx.apiPort)));
  // The registry listens on the host's veth address, so it starts once the veth exists.
  const registry = registryAddress(ctx.state);
  if (!records.some((r) => r.name === "registry")) {
    records.push(await startRegistry(ctx.state, logOf("registry")));
    save();
  }
  const t1 = Date.now();
  const images = pushImages(ctx.state, tars);
  log(`images pushed to ${registry} in ${((Date.now() - t1) / 1000).toFixed(1)}s`);
  const pause = images["pause"];
  if (!pause) throw new Error("the pause image was not pushed (MMRTCD_REAL_NODE_IMAGES must include pause)");
  if (!records.some((r) => r.name === "coredns")) {
    const cf = join(dir, "Corefile");
    writeFileSync(cf, corefile(hip, ctx.adminKubeconfig));
    const rec = startIn(
      undefined,
      "coredns",
      corednsPath(),
      ["-conf", cf],
      logOf("coredns"),
      `dns://${hip}:53`,
    );
    records.push(rec);
    save();
    await waitFor("CoreDNS", rec, () => /CoreDNS-/.test(tail(rec.log, 50)), 30_000);
  }

  const proxyCert = ensureClientCert(ctx.pki, "kube-proxy", "/CN=system:kube-proxy");
  const server = `https://${hip}:${ctx.apiPort}`;
  for (const n of nodes) {
    if (records.some((r) => r.name === `${n.name}/kubelet`)) continue;
    const t0 = Date.now();
    for (const d of ["containerd", "cni/net.d", "kubelet", "kubelet-pki"]) {
      mkdirSync(join(n.dir, d), { recursive: true });
    }
    ensureNodeNet(h, n);
    ensureCgroups(n);
    writeFileSync(
      join(n.dir, "containerd", "config.toml"),
      containerdConfig(n, `${pause.repository}:${pause.tag}`),
    );
    writeHostsToml(registryConfigPath(n), registry);
    writeFileSync(join(n.dir, "cni", "net.d", "10-mmrtcd.conflist"), cniConfig(n));
    const containerd = startIn(
      n.netns,
      `${n.name}/containerd`,
      "/usr/bin/containerd",
      ["--config", join(n.dir, "containerd", "config.toml")],
      logOf(`${n.name}/containerd`),
      `unix://${n.containerdSock}`,
    );
    records.push(containerd);
    save();
    await waitFor(`${n.name}'s containerd`, containerd, () => existsSync(n.containerdSock), 30_000);

    const kcert = ensureClientCert(ctx.pki, `node-${n.name}`, `/O=system:nodes/CN=system:node:${n.name}`);
    const kubeletKc = join(n.dir, "kubelet.kubeconfig");
    writeKubeconfig(kubeletKc, server, ctx.pki, { name: `system:node:${n.name}`, ...kcert }, TLS_NAME);
    const kubeletCfg = join(n.dir, "kubelet.yaml");
    writeFileSync(kubeletCfg, kubeletConfig(n, { caCert: ctx.pki.caCert, kubeconfig: kubeletKc }, hip));
    records.push(
      startIn(
        n.netns,
        `${n.name}/kubelet`,
        toolPath("kubelet"),
        kubeletArgs(n, kubeletCfg, kubeletKc),
        logOf(`${n.name}/kubelet`),
        `https://${n.ip}:10250`,
      ),
    );
    save();
    const proxyKc = join(n.dir, "kube-proxy.kubeconfig");
    writeKubeconfig(proxyKc, server, ctx.pki, { name: "system:kube-proxy", ...proxyCert }, TLS_NAME);
    const proxyCfg = join(n.dir, "kube-proxy.yaml");
    writeFileSync(proxyCfg, kubeProxyConfig(n, proxyKc));
    records.push(
      startIn(
        n.netns,
        `${n.name}/kube-proxy`,
        toolPath("kube-proxy"),
        [`--config=${proxyCfg}`, "--v=1"],
        logOf(`${n.name}/kube-proxy`),
        `iptables in ${n.netns}`,
      ),
    );
    save();
    log(
      `${n.name} (${n.ip}, ${n.zone}, pods ${n.podCidr}) started in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
    );
  }
  ensurePodRoutes(nodes);

  const deadline = Date.now() + 120_000;
  for (;;) {
    const dead = records.find((r) => !isOurs(r));
    if (dead) throw new Error(`${dead.name} exited; last lines of ${dead.log}:\n${tail(dead.log)}`);
    const ready = nodes.filter((n) => {
      try {
        return (
          ctx.kubectl([
            "get",
            "node",
            n.name,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ]) === "True"
        );
      } catch {
        return false;
      }
    });
    if (ready.length === nodes.length) break;
    if (Date.now() > deadline) {
      const n = nodes.find((x) => !ready.includes(x))!;
      throw new Error(
        `${n.name} did not become Ready in 120s; kubelet log:\n${tail(logOf(`${n.name}/kubelet`))}`,
      );
    }
    await sleep(500);
  }
  log(`${nodes.map((n) => n.name).join(", ")} Ready`);
  return nodes;
}

/** Stops and removes everything `upRealNodes` made; safe to run when nothing is there. */
export async function downRealNodes(state: string): Promise<string[]> {
  const dir = recordsDir(state);
  const h = hostNames(state);
  const records = readRecords(dir);
  const done: string[] = [];
  const byName = (suffix: string) => records.filter((r) => r.name.endsWith(suffix));
  const stopAll = async (recs: ProcRecord[]) =>
    Promise.all(
      recs.filter(isOurs).map(async (r) => {
        await stop(r, 5000);
        done.push(`${r.name} (pid ${r.pid})`);
      }),
    );
  // kubelets first so nothing restarts the containers we are about to kill.
  await stopAll([...byName("/kubelet"), ...byName("/kube-proxy")]);
  const count = Math.max(byName("/containerd").length, ourNetns(h).filter((n) => isNodeNetns(h, n)).length);
  const nodes = realNodes(state, count);
  const podNetns = new Set<number>();
  for (const n of nodes) {
    for (const ino of podNetnsInodes(n)) podNetns.add(ino);
    const pids = cgroupPids(n);
    killAll(pids);
    if (pids.length) done.push(`${pids.length} container processes of ${n.name}`);
    killAll(shimPids(n));
  }
  await stopAll([...byName("/containerd"), ...records.filter((x) => !x.name.includes("/"))]);
  // SIGKILLed processes leave their cgroups once the kernel has reaped them:
  // wait for that (briefly) before the second pass, which catches anything a
  // shim started meanwhile.
  const left = () => nodes.some((n) => cgroupPids(n).length > 0 || shimPids(n).length > 0);
  const deadline = Date.now() + 3000;
  while (left() && Date.now() < deadline) await sleep(50);
  for (const n of nodes) {
    killAll([...cgroupPids(n), ...shimPids(n)]);
    const unmounted = unmountAll(n.dir);
    if (unmounted) done.push(`${unmounted} mounts of ${n.name}`);
    removeCgroups(n);
  }
  const pods = removePodNetns(podNetns);
  if (pods) done.push(`${pods} pod network namespaces`);
  done.push(...removeNetworks(h));
  return done;
}

export function realNodeStatus(state: string): string[] {
  const records = readRecords(recordsDir(state));
  if (records.length === 0) return [];
  const lines = records.map(
    (r) =>
      `${r.name.padEnd(24)} ${isOurs(r) ? "running" : "STOPPED"}  pid ${String(r.pid).padEnd(8)} ${r.listen}`,
  );
  const nets = ourNetns(hostNames(state));
  lines.push(`network namespaces: ${nets.length ? nets.join(", ") : "none"}`);
  for (const n of realNodes(state)) {
    lines.push(
      `${n.name}: ip ${n.ip} zone ${n.zone} netns ${n.netns} (${netnsExists(n.netns) ? "present" : "MISSING"})`,
    );
  }
  return lines;
}
