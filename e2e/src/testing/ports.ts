// Ports for tests on a cluster other files use at the same time: host ports
// clash only with the same port on the same node, and node ports are
// cluster-wide, so tests pick ports nobody else holds.
import { getJson } from "./kube.ts";

async function usedNodePorts(): Promise<Set<number | undefined>> {
  const list = await getJson<{ items: { spec: { ports?: { nodePort?: number }[] } }[] }>([
    "get",
    "services",
    "--all-namespaces",
  ]);
  return new Set(list.items.flatMap((s) => (s.spec.ports ?? []).map((p) => p.nodePort)));
}

/** `count` node ports (30000-32767) no Service in the cluster uses now. */
export async function freeNodePorts(count: number): Promise<number[]> {
  const used = await usedNodePorts();
  const start = 30000 + Math.floor(Math.random() * 2000);
  const out: number[] = [];
  for (let p = start; out.length < count && p <= 32767; p++) if (!used.has(p)) out.push(p);
  if (out.length < count) throw new Error(`fewer than ${count} free node ports from ${start}`);
  return out;
}

/**
 * The first of `count` consecutive free node ports: several media workers
 * take node port + i (spec.networking.nodePort, the chart's nodePorts.rtc).
 */
export async function freeNodePortRange(count: number): Promise<number> {
  const used = await usedNodePorts();
  const start = 30000 + Math.floor(Math.random() * 2000);
  for (let p = start; p + count - 1 <= 32767; p++) {
    if (Array.from({ length: count }, (_, i) => p + i).every((q) => !used.has(q))) return p;
  }
  throw new Error(`no ${count} consecutive free node ports from ${start}`);
}

/**
 * An API and RTC port pair unlikely to be another test's host ports: 10000 to
 * 27999, below the node port range (a host-network pod there would clash with
 * kube-proxy's node ports on a real cluster).
 */
export function randomHostPorts(): { apiPort: number; rtcPort: number } {
  const base = 10000 + Math.floor(Math.random() * 9000) * 2;
  return { apiPort: base, rtcPort: base + 1 };
}
