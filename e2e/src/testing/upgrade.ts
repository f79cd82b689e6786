// What the upgrade e2e reads from the cluster: the objects an install made
// (by UID, to tell updated from recreated), a MattermostRTCD's conditions and
// the DNS answers new calls get, sampled all through an upgrade, and the
// versions rtcd and the operator run.
import { getJson } from "./kube.ts";
import { serviceIps } from "./real-node.ts";

export interface Obj {
  kind: string;
  metadata: { name: string; uid: string; namespace?: string; annotations?: Record<string, string> };
  type?: string;
}

const KINDS =
  "deployments,daemonsets,services,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets,mattermostrtcds";

/**
 * Every object of an install and of the operator's reconcile, as
 * kind/namespace/name → UID: not pods, ReplicaSets or Helm's release records
 * (one per revision by design), nor what Kubernetes makes in every namespace.
 */
export async function inventory(
  namespaces: string[],
  clusterScoped: (o: Obj) => boolean,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const add = (o: Obj) => {
    if (o.type === "helm.sh/release.v1" || o.metadata.name === "kube-root-ca.crt") return;
    if (o.kind === "ServiceAccount" && o.metadata.name === "default") return;
    out.set(`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o.metadata.uid);
  };
  for (const n of namespaces) (await getJson<{ items: Obj[] }>(["get", KINDS, "-n", n])).items.forEach(add);
  const cluster = await getJson<{ items: Obj[] }>(["get", "clusterroles,clusterrolebindings"]);
  cluster.items.filter(clusterScoped).forEach(add);
  return out;
}

export interface InstanceStatus {
  conditions?: { type: string; status: string; reason?: string }[];
  availableReplicas?: number;
}

/** The status of the namespace's one MattermostRTCD. */
export async function instanceStatus(namespace: string): Promise<InstanceStatus> {
  const list = await getJson<{ items: { status?: InstanceStatus }[] }>([
    "get",
    "mattermostrtcds",
    "-n",
    namespace,
  ]);
  return list.items[0]?.status ?? {};
}

export const statusCondition = (s: InstanceStatus, type: string) =>
  s.conditions?.find((c) => c.type === type);

/** rtcd's /version buildVersion ("v1.2.6+mmrtcd.<our version>"). */
export async function rtcdVersion(ip: string, apiPort: number): Promise<string> {
  const r = await fetch(`http://${ip}:${apiPort}/version`);
  return ((await r.json()) as { buildVersion: string }).buildVersion;
}

/** Matches a buildVersion of our release `v`. */
export const ourVersion = (v: string) => new RegExp(`\\+mmrtcd\\.${v.replace(/\./g, "\\.")}$`);

export async function podImages(namespace: string, selector: string): Promise<string[]> {
  const pods = await getJson<{ items: { spec: { containers: { image: string }[] } }[] }>([
    "get",
    "pods",
    "-n",
    namespace,
    "-l",
    selector,
  ]);
  return pods.items.map((p) => p.spec.containers[0]!.image);
}

/** A MattermostRTCD's Ready and Degraded, and the DNS answers for new calls, once a second. */
export class StatusSampler {
  readonly samples: { t: number; ready: string; degraded: string; available: number; dns: number }[] = [];
  private running = true;
  private readonly t0 = Date.now();
  private readonly loop: Promise<void>;

  constructor(namespace: string, service: string) {
    this.loop = (async () => {
      while (this.running) {
        const s = await instanceStatus(namespace).catch(() => undefined);
        const dns = await serviceIps(service, namespace).catch(() => []);
        if (s) {
          const r = statusCondition(s, "Ready");
          const d = statusCondition(s, "Degraded");
          this.samples.push({
            t: Date.now() - this.t0,
            ready: `${r?.status}/${r?.reason}`,
            degraded: `${d?.status}/${d?.reason}`,
            available: s.availableReplicas ?? 0,
            dns: dns.length,
          });
        }
        // A sampling period, not a wait for a condition.
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
  }

  /** Stops sampling; the Ready timeline, one entry per change, and the seconds without a pod in DNS. */
  async stop(): Promise<string> {
    this.running = false;
    await this.loop;
    const changes = this.samples.filter((s, i) => i === 0 || s.ready !== this.samples[i - 1]!.ready);
    const noDns = this.samples.filter((s) => s.dns === 0).length;
    return (
      changes.map((s) => `${(s.t / 1000).toFixed(1)}s ${s.ready} (available ${s.available})`).join(" -> ") +
      `; no pod in DNS for new calls in ${noDns} of ${this.samples.length} one-second samples`
    );
  }

  /** The samples in which the instance said Degraded=True. */
  degraded(): typeof this.samples {
    return this.samples.filter((s) => s.degraded.startsWith("True"));
  }
}
