// Thin I/O for a real node's container runtime: ctr against the node's
// containerd (which pulls images from the cluster's registry, see
// registry.ts), and the clean-up that leaves no container, shim, mount or
// cgroup behind.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RealNode } from "./config.ts";

const CGROUP_ROOT = "/sys/fs/cgroup";

/** The cgroup v1 hierarchies (one directory per mounted controller set). */
function hierarchies(): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  return readdirSync(CGROUP_ROOT)
    .map((d) => join(CGROUP_ROOT, d))
    .filter((d) => {
      try {
        return statSync(d).isDirectory() && existsSync(join(d, "cgroup.procs"));
      } catch {
        return false;
      }
    });
}

/** The node's cgroup parent in every hierarchy; cpuset needs its cpus/mems copied from the parent. */
export function ensureCgroups(n: RealNode): void {
  for (const h of hierarchies()) {
    const dir = join(h, n.cgroupRoot);
    if (!existsSync(dir)) execFileSync("mkdir", ["-p", dir]);
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      const parent = join(h, f);
      const own = join(dir, f);
      if (existsSync(parent) && existsSync(own) && readFileSync(own, "utf8").trim() === "") {
        writeFileSync(own, readFileSync(parent, "utf8"));
      }
    }
  }
}

function cgroupDirsDeepestFirst(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...cgroupDirsDeepestFirst(join(dir, e.name)));
  }
  out.push(dir);
  return out;
}

/** Pids in the node's cgroups: every container process the node ran. */
export function cgroupPids(n: RealNode): number[] {
  const pids = new Set<number>();
  for (const h of hierarchies()) {
    for (const d of cgroupDirsDeepestFirst(join(h, n.cgroupRoot))) {
      try {
        for (const l of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n")) {
          if (l.trim()) pids.add(Number(l));
        }
      } catch {
        // removed meanwhile
      }
    }
  }
  return [...pids];
}

export function removeCgroups(n: RealNode): void {
  for (const h of hierarchies()) {
    for (const d of cgroupDirsDeepestFirst(join(h, n.cgroupRoot))) {
      try {
        rmdirSync(d);
      } catch {
        // busy: reported by the leftovers check
      }
    }
  }
}

/** containerd's shims for this node, found by the node's own socket path in their command line. */
export function shimPids(n: RealNode): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      if (cmd[0]?.endsWith("containerd-shim-runc-v2") && cmd.includes(n.containerdSock)) pids.push(Number(e));
    } catch {
      // exited
    }
  }
  return pids;
}

export function killAll(pids: readonly number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Mount points under dir (kubelet volumes, container root filesystems), deepest first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (mp && (mp + "/").startsWith(prefix)) out.push(mp.replace(/\\040/g, " "));
  }
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

export function unmountAll(dir: string): number {
  let n = 0;
  for (let round = 0; round < 5; round++) {
    const mps = mountsUnder(dir);
    if (mps.length === 0) break;
    for (const mp of mps) {
      if (spawnSync("umount", ["-l", mp], { stdio: "ignore" }).status === 0) n++;
    }
  }
  return n;
}

/** Network namespace inodes of the node's container processes (pod sandboxes on the pod network). */
export function podNetnsInodes(n: RealNode): Set<number> {
  const out = new Set<number>();
  for (const pid of cgroupPids(n)) {
    try {
      out.add(statSync(`/proc/${pid}/ns/net`).ino);
    } catch {
      // exited
    }
  }
  return out;
}

/**
 * containerd pins each pod's network namespace at /run/netns/cni-<uuid>;
 * remove the ones whose namespace one of this node's containers used.
 */
export function removePodNetns(inodes: ReadonlySet<number>): number {
  if (!existsSync("/run/netns")) return 0;
  let removed = 0;
  for (const f of readdirSync("/run/netns")) {
    if (!f.startsWith("cni-")) continue;
    try {
      if (!inodes.has(statSync(join("/run/netns", f)).ino)) continue;
    } catch {
      continue;
    }
    if (spawnSync("ip", ["netns", "del", f], { stdio: "ignore" }).status === 0) removed++;
  }
  return removed;
}
