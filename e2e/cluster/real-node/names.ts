// Machine-wide names and addresses of one cluster's real nodes: network
// namespaces, the host veth, cgroup parents, the CNI network and the host-side
// /24. They are machine-wide, so two clusters (two MMRTCD_CLUSTER_DIRs) must
// never share one: `down` of one would delete the other's namespaces, and two
// veths with one /24 break both. Everything is derived from a short hash of
// the cluster's state dir. Pure: no I/O, unit-tested.
import { createHash } from "node:crypto";
import { resolve } from "node:path";

export interface HostNames {
  /** 6 hex digits of sha256(absolute state dir): what makes every name below unique to the cluster. */
  tag: string;
  /** The network namespace holding the bridge every node (and the host) plugs into. */
  switchNetns: string;
  /** Host side of the one veth between the host and the switch (an interface name: at most 15 chars). */
  hostVeth: string;
  /** Every netns of this cluster starts with this (the switch and the nodes'). */
  netnsPrefix: string;
  /** The name of the CNI network on each node. */
  cniNetwork: string;
  /** The first three octets of the /24 the host and the nodes share. */
  subnet: string;
}

/** Linux limits interface names to 15 bytes (IFNAMSIZ 16, with the NUL). */
export const IFNAME_MAX = 15;

export function hostNames(stateDir: string, env: NodeJS.ProcessEnv = process.env): HostNames {
  const hash = createHash("sha256").update(resolve(stateDir)).digest("hex");
  const tag = hash.slice(0, 6);
  const raw = env["MMRTCD_REAL_NODE_SUBNET"] ?? `10.213.${parseInt(hash.slice(6, 8), 16)}`;
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(raw)) {
    throw new Error(`MMRTCD_REAL_NODE_SUBNET must be the first three octets of a /24, got "${raw}"`);
  }
  const netnsPrefix = `mmrtcd-${tag}-`;
  return {
    tag,
    switchNetns: `${netnsPrefix}switch`,
    hostVeth: `mmrtcd-${tag}`,
    netnsPrefix,
    cniNetwork: `${netnsPrefix}pods`,
    subnet: raw,
  };
}

/** Node `index`'s network namespace. */
export const nodeNetns = (h: HostNames, index: number) => `${h.netnsPrefix}rn${index}`;

/** Whether a netns name is one of this cluster's nodes' (not the switch, not another cluster's). */
export const isNodeNetns = (h: HostNames, name: string) =>
  name.startsWith(`${h.netnsPrefix}rn`) && /^\d+$/.test(name.slice(h.netnsPrefix.length + 2));

/** The host's end of the veth: where the API server forwarder and CoreDNS listen. */
export const hostIp = (stateDir: string, env: NodeJS.ProcessEnv = process.env) =>
  `${hostNames(stateDir, env).subnet}.1`;

export interface HostAddress {
  /** Interface name. */
  dev: string;
  /** IPv4 address, without the prefix length. */
  ip: string;
  /** The interface's alias: our veths carry the state dir of the cluster that made them. */
  alias?: string;
}

/**
 * Why this cluster cannot put its host veth on `h.subnet`: another interface
 * already has an address there (another cluster, or anything else on the
 * machine). Undefined when the /24 is free or only on our own veth.
 */
export function subnetClash(h: HostNames, addrs: readonly HostAddress[]): string | undefined {
  const other = addrs.find((a) => a.dev !== h.hostVeth && a.ip.startsWith(`${h.subnet}.`));
  if (!other) return undefined;
  const owner = other.alias ? `the cluster in ${other.alias}` : "something else on this machine";
  return (
    `the real-node subnet ${h.subnet}.0/24 is already on interface ${other.dev} (${other.ip}), held by ${owner}; ` +
    "run `npm run cluster -- down` with that cluster's MMRTCD_CLUSTER_DIR, or set MMRTCD_REAL_NODE_SUBNET to a free /24"
  );
}
