// What a real node needs from the machine, named so a skipped test or a failed
// `up --real-node` says exactly which capability is missing.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { CNI_BIN_DIR } from "./config.ts";

function have(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Empty when a real node can run; otherwise one entry per missing capability. */
export function missingCapabilities(): string[] {
  const out: string[] = [];
  if (process.platform !== "linux") return ["Linux (network namespaces, cgroups)"];
  if (process.getuid?.() !== 0) out.push("root (network namespaces, mounts, cgroups)");
  const cmds: [string, string][] = [
    ["containerd", "containerd"],
    ["runc", "runc"],
    ["ctr", "containerd"],
    ["nsenter", "util-linux"],
    ["ip", "iproute2"],
    ["iptables", "iptables"],
    ["conntrack", "conntrack"],
    ["socat", "socat"],
    ["buildah", "buildah"],
    ["debootstrap", "debootstrap"],
    ["gcc", "gcc"],
  ];
  for (const [cmd, pkg] of cmds) if (!have(cmd)) out.push(`${cmd} (Debian package ${pkg})`);
  for (const p of ["bridge", "host-local", "portmap"]) {
    if (!existsSync(`${CNI_BIN_DIR}/${p}`))
      out.push(`CNI plugin ${p} (Debian package containernetworking-plugins)`);
  }
  if (!existsSync("/sys/fs/cgroup/cpu") && !existsSync("/sys/fs/cgroup/cgroup.controllers")) {
    out.push("a cgroup filesystem at /sys/fs/cgroup");
  }
  if (!existsSync("/proc/self/ns/net")) out.push("network namespaces");
  return out;
}
