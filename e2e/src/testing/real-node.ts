// Helpers for tests on the local cluster's real nodes: whether this machine
// can run them (and if not, which capability is missing), bringing them up,
// asking the cluster's CoreDNS what the Mattermost plugin would see, and
// watching a call between real WebRTC peers for drops.
import { Resolver } from "node:dns/promises";
import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { up } from "../../cluster/index.ts";
import { hostIp, realNode, type RealNode } from "../../cluster/real-node/config.ts";
import { cgroupPids } from "../../cluster/real-node/runtime.ts";
import { realNodeLog } from "../../cluster/real-node/node.ts";
import { tail } from "../../cluster/processes.ts";
import { missingCapabilities } from "../../cluster/real-node/preflight.ts";
import { stateDir } from "../../cluster/paths.ts";
import { Peer, PluginConn, until } from "@mattermost-rtcd/rtcd/testing/rtc-peer";
import { providerName } from "./providers.ts";
import { getJson, tryKubectl } from "./kube.ts";
import { waitFor } from "./wait.ts";

export { REAL_NODE_LABEL, REAL_NODE_TAINT } from "../../cluster/real-node/config.ts";

/** Why real-node tests cannot run here, or undefined when they can. */
export function realNodeSkipReason(): string | undefined {
  if (providerName() !== "local") return `real nodes need the local cluster (E2E_PROVIDER=${providerName()})`;
  if (process.env["MMRTCD_SKIP_REAL_NODE"]) return "MMRTCD_SKIP_REAL_NODE is set";
  const missing = missingCapabilities();
  return missing.length ? `missing capability: ${missing.join("; ")}` : undefined;
}

/** The local cluster with `count` real nodes (started if needed; kept running like the cluster). */
export async function ensureRealNodes(count: number): Promise<RealNode[]> {
  await up({ realNodes: count });
  const nodes = Array.from({ length: count }, (_, i) => realNode(stateDir(), i + 1));
  // rtcd pods hold their nodes' ports (host network) until they have exited: a
  // file that starts while an earlier file's pods are still there finds its own
  // pods unschedulable ("didn't have free ports"). Each file's afterAll waits
  // for its pods (realNodesReleased); this names whatever is left instead of
  // letting it fail an unrelated file later.
  await realNodesReleased(undefined, 180_000);
  return nodes;
}

interface Pod {
  metadata: { name: string; namespace: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    conditions?: { type: string; status: string; message?: string }[];
    containerStatuses?: { name: string; state?: Record<string, { reason?: string; exitCode?: number }> }[];
  };
}

const listPods = async (namespace?: string): Promise<Pod[]> =>
  (await getJson<{ items: Pod[] }>(["get", "pods", namespace ? `-n=${namespace}` : "-A"])).items;

// A pod for a timeout message: node, phase, deletion (deletionTimestamp is
// when its grace ends, not when it was deleted), conditions that are not
// True, and each container's state.
function describePod(p: Pod): string {
  const notes = [
    p.status.phase ?? "?",
    ...(p.metadata.deletionTimestamp ? [`deleted, grace ends ${p.metadata.deletionTimestamp}`] : []),
    ...(p.status.conditions ?? [])
      .filter((c) => c.status !== "True" && c.message)
      .map((c) => `${c.type}: ${c.message}`),
    ...(p.status.containerStatuses ?? []).map(
      (c) =>
        `${c.name} ${Object.entries(c.state ?? {})
          .map(([k, v]) => [k, v.reason, v.exitCode].filter((x) => x !== undefined).join(" "))
          .join(",")}`,
    ),
  ];
  return `${p.metadata.namespace}/${p.metadata.name} on ${p.spec.nodeName ?? "no node"} (${notes.join("; ")})`;
}

/** Each pod of `namespace`, described (for timeout messages). */
export async function podStates(namespace: string): Promise<string> {
  return (await listPods(namespace)).map(describePod).join("; ") || "none";
}

// Pods on the real nodes (of `namespace`, or of every namespace but
// kube-system) that have not ended.
async function podsOnRealNodes(namespace?: string): Promise<Pod[]> {
  return (await listPods(namespace)).filter(
    (p) =>
      p.spec.nodeName?.startsWith("real-node-") &&
      p.metadata.namespace !== "kube-system" &&
      p.status.phase !== "Succeeded" &&
      p.status.phase !== "Failed",
  );
}

/** A pod's last `lines` log lines, or why there are none (for failure messages). */
export async function podLog(namespace: string, pod: string, lines = 15): Promise<string> {
  const r = await tryKubectl(["logs", "-n", namespace, pod, `--tail=${lines}`]);
  return (r.stdout || r.stderr).trimEnd();
}

// What a pod that does not go away has to say: its container's last log
// lines, and its node's kubelet lines about it.
async function whyStillThere(p: Pod): Promise<string> {
  const logs = await podLog(p.metadata.namespace, p.metadata.name);
  const kubelet = tail(realNodeLog(stateDir(), `${p.spec.nodeName}/kubelet`), 2000)
    .split("\n")
    .filter((l) => l.includes(p.metadata.name))
    .slice(-15);
  return [
    describePod(p),
    `  its log:\n${logs}`,
    `  kubelet on ${p.spec.nodeName} about it:\n${kubelet.join("\n")}`,
  ].join("\n");
}

/**
 * Waits until no pod (of `namespace`, or of any namespace) is left on the real
 * nodes; a timeout describes each pod still there, with its log and its
 * kubelet's lines about it (a draining rtcd keeps its ports until its last
 * call ends).
 */
export async function realNodesReleased(namespace?: string, timeoutMs = 120_000): Promise<void> {
  let left: Pod[] = [];
  try {
    await waitFor(
      async () => {
        left = await podsOnRealNodes(namespace);
        return left.length === 0;
      },
      { timeoutMs, intervalMs: 1000, what: "" },
    );
  } catch (err) {
    const why = await Promise.all(left.map(whyStillThere));
    throw new Error(
      `timed out after ${timeoutMs / 1000}s waiting for the real nodes to be free of ` +
        `${namespace ? `${namespace}'s` : "earlier tests'"} pods; still there:\n${why.join("\n")}`,
      { cause: err },
    );
  }
}

/** A Service's A records as the cluster DNS answers them now ([] when it has none). */
export async function serviceIps(service: string, namespace: string): Promise<string[]> {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([hostIp(stateDir())]);
  try {
    return (await r.resolve4(`${service}.${namespace}.svc.cluster.local`)).sort();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOTFOUND" || code === "ENODATA") return [];
    throw err;
  }
}

/**
 * A Node process of the node whose command line contains `needle` (not the
 * tini that starts it in our images): its uid and whether its root is read-only.
 */
export function nodeProcess(
  n: RealNode,
  needle: string,
): { pid: number; uid: number; rootReadOnly: boolean } {
  for (const pid of cgroupPids(n)) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (basename(argv[0] ?? "") !== "node" || !argv.join(" ").includes(needle)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
      const root = readFileSync(`/proc/${pid}/mountinfo`, "utf8")
        .split("\n")
        .find((l) => l.split(" ")[4] === "/");
      const opts = root?.split(" ")[5]?.split(",") ?? [];
      return { pid, uid, rootReadOnly: opts.includes("ro") };
    } catch {
      // exited meanwhile
    }
  }
  throw new Error(`no process matching "${needle}" on ${n.name} (pids ${cgroupPids(n).join(",")})`);
}

/** Whether any process on the node has `needle` in its command line. */
export function nodeRuns(n: RealNode, needle: string): boolean {
  return cgroupPids(n).some((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").includes(needle);
    } catch {
      return false;
    }
  });
}

export const RTCD_AUTH_KEY = "e2e-real-node-".padEnd(40, "k");

/** Registers a plugin client with RTCD_AUTH_KEY (self-registration is on in these tests); returns the base URL. */
export async function registerClient(ip: string, apiPort: number, clientID: string): Promise<string> {
  const base = `http://${ip}:${apiPort}`;
  const r = await fetch(`${base}/register`, {
    method: "POST",
    body: JSON.stringify({ clientID, authKey: RTCD_AUTH_KEY }),
  });
  // 400 "already registered" is fine: the client is known.
  if (r.status !== 201 && r.status !== 400)
    throw new Error(`register at ${base}: ${r.status} ${await r.text()}`);
  return base;
}

/** Registers a plugin client and opens its WebSocket. */
export async function connectPlugin(ip: string, apiPort: number, clientID: string): Promise<PluginConn> {
  const base = await registerClient(ip, apiPort, clientID);
  return PluginConn.connect(base, clientID, RTCD_AUTH_KEY);
}

const CONNECT_WAIT_MS = 35_000;

/** How long (ms) without a new packet at the receiver counts as a dropped call. */
export const MEDIA_GAP_LIMIT_MS = 3000;

/**
 * One call on one rtcd pod: a sender and a receiver (werift peers on the
 * host) joined through a plugin WebSocket. A call is dropped when its
 * WebSocket closes, rtcd closes a session, or media stops for more than
 * MEDIA_GAP_LIMIT_MS while the call is supposed to be up.
 */
export class WatchedCall {
  readonly ip: string;
  readonly conn: PluginConn;
  readonly sender: Peer;
  readonly receiver: Peer;
  wsClosed = false;
  maxGapMs = 0;
  private lastCount = 0;
  private lastGrowth = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  private constructor(ip: string, conn: PluginConn, callID: string) {
    this.ip = ip;
    this.conn = conn;
    this.sender = new Peer(conn, callID, `${callID}-a`);
    this.receiver = new Peer(conn, callID, `${callID}-b`);
    conn.ws.on("close", () => {
      if (!this.ended) this.wsClosed = true;
    });
  }

  static async start(ip: string, apiPort: number, callID: string): Promise<WatchedCall> {
    const conn = await connectPlugin(ip, apiPort, `plugin-${callID}`);
    const c = new WatchedCall(ip, conn, callID);
    try {
      c.sender.join();
      c.receiver.join();
      // werift takes the DTLS client role here (rtcd answers passive, as it
      // must for any client that offers active). Neither of werift's roles
      // is safe against mediasoup's 100 ms retransmissions (rtc-peer.ts,
      // offer()); with werift as the server, a call to a just-started pod
      // stayed "connecting" in 3 of 5 full runs, for a cause not found; with
      // werift as the client, these calls connected in every run so far
      // (two full runs and the local ones). The operator's probe and
      // `npm run test-call` stay the server: a cold process's first
      // handshake failed as the client (operator/test/media-probe.int.test.ts).
      await c.sender.offer({ send: true, dtlsClient: true });
      await c.receiver.offer({ send: false, dtlsClient: true });
      // Longer than rtcd's own connect timeout (30 s): a call that does not
      // come up is ended by rtcd first, whose log line (in the failure
      // message) says where mediasoup's ICE and DTLS stood and on which pair.
      await c.sender.connected(CONNECT_WAIT_MS);
      await c.receiver.connected(CONNECT_WAIT_MS);
      c.sender.startAudio();
      await until(`media of ${callID} at ${ip}`, () => c.receiver.received.length >= 25, 20_000);
    } catch (err) {
      // A call that never came up still has sessions on rtcd, and a pod
      // drains until its last session ends: leave, or the pod never exits.
      await c.end().catch(() => undefined);
      throw err;
    }
    c.lastCount = c.receiver.received.length;
    c.lastGrowth = Date.now();
    c.timer = setInterval(() => c.sample(), 100);
    return c;
  }

  private sample(): void {
    const n = this.receiver.received.length;
    const now = Date.now();
    if (n > this.lastCount) {
      this.lastCount = n;
      this.lastGrowth = now;
    } else {
      this.maxGapMs = Math.max(this.maxGapMs, now - this.lastGrowth);
    }
  }

  get packets(): number {
    return this.receiver.received.length;
  }

  /** The verdict when the call ended: its own leave makes rtcd close the sessions, which is no drop. */
  private verdict: boolean | undefined;

  get dropped(): boolean {
    if (this.verdict !== undefined) return this.verdict;
    return (
      this.wsClosed ||
      this.sender.closed ||
      this.receiver.closed ||
      this.maxGapMs > MEDIA_GAP_LIMIT_MS ||
      this.sender.errors.length > 0 ||
      this.receiver.errors.length > 0
    );
  }

  private summary: string | undefined;

  describe(): string {
    if (this.summary !== undefined) return this.summary;
    return (
      `call on ${this.ip}: ${this.packets} packets, max gap ${this.maxGapMs} ms (100 ms sampling), ws ${this.wsClosed ? "LOST" : "up"}, ` +
      `sessions ${this.sender.closed || this.receiver.closed ? "CLOSED by rtcd" : "open"}` +
      (this.sender.errors.length + this.receiver.errors.length
        ? `, errors ${[...this.sender.errors, ...this.receiver.errors].join("; ")}`
        : "")
    );
  }

  /** Media keeps arriving: `count` more packets within `ms`. */
  async flows(count = 50, ms = 10_000): Promise<void> {
    const target = this.packets + count;
    await until(`${count} more packets on ${this.ip}`, () => this.packets >= target, ms);
  }

  /** Ends the call the way the plugin does: both sessions leave, then the WebSocket closes. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.sample();
    this.verdict = this.dropped;
    this.summary = this.describe();
    this.ended = true;
    clearInterval(this.timer);
    this.sender.leave();
    this.receiver.leave();
    await this.sender.close();
    await this.receiver.close();
    this.conn.close();
  }
}

/** Pids on this machine (for leftovers checks): any process whose cmdline contains `needle`. */
export function hostPidsMatching(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(needle)) out.push(Number(e));
    } catch {
      // exited
    }
  }
  return out;
}
