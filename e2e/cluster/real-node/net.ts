// The real nodes' network, entirely inside network namespaces this tool
// creates: a "switch" namespace with a bridge, one namespace per node plugged
// into it, and one veth from the switch to the host (the host's only change:
// an address on that veth and its connected /24 route). Nodes route each
// other's pod subnets over the shared segment, like a flat L2 cloud network.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { RealNode } from "./config.ts";
import { isNodeNetns, subnetClash, type HostAddress, type HostNames } from "./names.ts";

function ip(args: string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string };
    throw new Error(`ip ${args.join(" ")} failed: ${e.stderr ?? String(err)}`, { cause: err });
  }
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

function linkExists(name: string, netns?: string): boolean {
  try {
    execFileSync("ip", [...(netns ? ["-n", netns] : []), "link", "show", name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A per-namespace sysctl (net.*), set from inside that namespace. */
function nsSysctl(netns: string, key: string, value: string): void {
  try {
    execFileSync("ip", ["netns", "exec", netns, "sysctl", "-qw", `${key}=${value}`], { stdio: "ignore" });
  } catch {
    // br_netfilter's knobs are machine-wide on older kernels; the default (1) is what we want.
  }
}

/** The host's IPv4 addresses, with each interface's alias. */
function hostAddresses(): HostAddress[] {
  const links = JSON.parse(ip(["-j", "-4", "addr", "show"])) as {
    ifname: string;
    addr_info?: { local?: string }[];
  }[];
  return links.flatMap((l) => {
    let alias: string | undefined;
    try {
      alias = readFileSync(`/sys/class/net/${l.ifname}/ifalias`, "utf8").trim() || undefined;
    } catch {
      // no alias file: not one of ours
    }
    return (l.addr_info ?? []).flatMap((a) => (a.local ? [{ dev: l.ifname, ip: a.local, alias }] : []));
  });
}

/**
 * The switch and the host's veth. Refuses, naming the holder, when the /24 is
 * already on another interface: two veths with one connected route would
 * break both clusters. The veth's alias is our state dir, so that the next
 * cluster's refusal can say whose it is.
 */
export function ensureSwitch(h: HostNames, stateDir: string): void {
  const clash = subnetClash(h, hostAddresses());
  if (clash) throw new Error(clash);
  const SWITCH_NETNS = h.switchNetns;
  const HOST_VETH = h.hostVeth;
  if (!netnsExists(SWITCH_NETNS)) ip(["netns", "add", SWITCH_NETNS]);
  ip(["-n", SWITCH_NETNS, "link", "set", "lo", "up"]);
  if (!linkExists("br0", SWITCH_NETNS)) ip(["-n", SWITCH_NETNS, "link", "add", "br0", "type", "bridge"]);
  ip(["-n", SWITCH_NETNS, "link", "set", "br0", "up"]);
  if (!linkExists(HOST_VETH)) {
    ip(["link", "add", HOST_VETH, "type", "veth", "peer", "name", "uplink", "netns", SWITCH_NETNS]);
    ip(["addr", "add", `${h.subnet}.1/24`, "dev", HOST_VETH]);
  }
  ip(["link", "set", HOST_VETH, "alias", stateDir]);
  ip(["link", "set", HOST_VETH, "up"]);
  ip(["-n", SWITCH_NETNS, "link", "set", "uplink", "master", "br0", "up"]);
}

export function ensureNodeNet(h: HostNames, n: RealNode): void {
  const SWITCH_NETNS = h.switchNetns;
  if (!netnsExists(n.netns)) ip(["netns", "add", n.netns]);
  ip(["-n", n.netns, "link", "set", "lo", "up"]);
  const port = `port${n.index}`;
  if (!linkExists(port, SWITCH_NETNS)) {
    ip(["-n", SWITCH_NETNS, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", n.netns]);
    ip(["-n", n.netns, "addr", "add", `${n.ip}/24`, "dev", "eth0"]);
  }
  ip(["-n", SWITCH_NETNS, "link", "set", port, "master", "br0", "up"]);
  ip(["-n", n.netns, "link", "set", "eth0", "up"]);
  ip(["-n", n.netns, "route", "replace", "default", "via", `${h.subnet}.1`]);
  // Pods leave through the node (bridge CNI masquerades), and kube-proxy's
  // Service rules must see bridged pod-to-pod traffic.
  nsSysctl(n.netns, "net.ipv4.ip_forward", "1");
  nsSysctl(n.netns, "net.bridge.bridge-nf-call-iptables", "1");
  nsSysctl(n.netns, "net.ipv4.conf.all.route_localnet", "1");
}

/** Each node reaches every other node's pod subnet through that node's IP. */
export function ensurePodRoutes(nodes: readonly RealNode[]): void {
  for (const n of nodes) {
    for (const other of nodes) {
      if (other.name === n.name) continue;
      ip(["-n", n.netns, "route", "replace", other.podCidr, "via", other.ip]);
    }
  }
}

/** Every namespace this cluster made (its switch and nodes); the host veth goes with the switch. */
export function ourNetns(h: HostNames): string[] {
  let out: string;
  try {
    out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  } catch {
    return [];
  }
  return out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n === h.switchNetns || isNodeNetns(h, n));
}

/** Removes this cluster's namespaces and host veth, and nothing of any other cluster's. */
export function removeNetworks(h: HostNames): string[] {
  const HOST_VETH = h.hostVeth;
  const removed: string[] = [];
  for (const ns of ourNetns(h)) {
    try {
      ip(["netns", "del", ns]);
      removed.push(`netns ${ns}`);
    } catch {
      // still held by a process; reported by the caller's leftovers check
    }
  }
  if (linkExists(HOST_VETH)) {
    try {
      ip(["link", "del", HOST_VETH]);
      removed.push(`veth ${HOST_VETH}`);
    } catch {
      // gone with its peer
    }
  }
  return removed;
}
