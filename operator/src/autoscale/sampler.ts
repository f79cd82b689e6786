// Reads each pod's load from rtcd itself: GET /system (cpu_load, what the
// Calls plugin compares to place a call) and GET /metrics (the sessions gauge
// both rtcds export). Short timeouts and a process-wide bound on requests in
// flight (util/pod-http.ts): a slow or dead pod costs one timeout, never a
// stuck reconcile.
import type { V1Pod } from "@kubernetes/client-node";
import { parseQuantity } from "../controller/semantic.ts";
import { PodHttp } from "../util/pod-http.ts";
import { cpuPercentFromLoad, type PodSample } from "./desired-replicas.ts";

/** rtcd's gauge of active RTC sessions (Mattermost's rtcd and ours, labelled by groupID). */
export const SESSIONS_METRIC = "rtcd_rtc_sessions_total";
/**
 * Ours only: the CPU sample alone. Our /system's cpu_load is a placement
 * signal (recent admissions and a jitter blended in, the highest load while
 * draining), so it is read only where this gauge is missing (Mattermost's
 * rtcd, whose /system is the plain sample).
 */
export const CPU_LOAD_METRIC = "rtcd_system_cpu_load";
/** Ours only: calls in progress (labelled by groupID); Mattermost's rtcd exports no call count. */
export const CALLS_METRIC = "rtcd_calls";

/** Where to reach one pod's rtcd API; undefined when it cannot be reached (no IP yet). */
export type TargetResolver = (pod: V1Pod, apiPort: number, tls: boolean) => string | undefined;

export const podIPTarget: TargetResolver = (pod, port, tls) => {
  const ip = pod.status?.podIP;
  if (!ip) return undefined;
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return `${tls ? "https" : "http"}://${host}:${port}`;
};

/**
 * A URL template with {namespace}, {pod}, {podIP} and {port}: for an operator
 * outside the cluster network (and for tests, which serve the load
 * themselves next to the real API server).
 */
export function templateTarget(template: string): TargetResolver {
  return (pod, port) => {
    const ip = pod.status?.podIP ?? "";
    if (template.includes("{podIP}") && !ip) return undefined;
    return template
      .replaceAll("{namespace}", pod.metadata?.namespace ?? "")
      .replaceAll("{pod}", pod.metadata?.name ?? "")
      .replaceAll("{podIP}", ip)
      .replaceAll("{port}", String(port))
      .replace(/\/$/, "");
  };
}

export interface SamplerOptions {
  resolve?: TargetResolver;
  /** Shared with the operator's other pod readers; else its own (timeoutMs, concurrency). */
  http?: PodHttp;
  timeoutMs?: number;
  /** Requests in flight across all instances. */
  concurrency?: number;
}

export function isReady(pod: V1Pod): boolean {
  return !!pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
}

/** The pod's CPU budget in CPUs, from its rtcd container's limit (what our rtcd measures against). */
export function cpuBudget(pod: V1Pod): number | undefined {
  const c = pod.spec?.containers?.find((c) => c.name === "rtcd") ?? pod.spec?.containers?.[0];
  const limit = c?.resources?.limits?.cpu;
  return limit === undefined ? undefined : parseQuantity(String(limit));
}

/** Sum of every series of one metric in Prometheus text format. */
export function sumMetric(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    // `name{labels} value [timestamp]`: the value is the first field after the labels.
    const afterLabels = rest[0] === "{" ? rest.slice(rest.lastIndexOf("}") + 1) : rest;
    const value = Number(afterLabels.trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

export class Sampler {
  private readonly resolve: TargetResolver;
  private readonly http: PodHttp;

  constructor(opts: SamplerOptions = {}) {
    this.resolve = opts.resolve ?? podIPTarget;
    // Its own timeoutMs and concurrency, when not given the operator's reader.
    this.http = opts.http ?? new PodHttp(opts);
  }

  /** One sample per pod: ready pods (capacity) and stopping pods (what they still hold). */
  async sample(pods: readonly V1Pod[], apiPort: number, tls: boolean): Promise<PodSample[]> {
    return Promise.all(pods.map((p) => this.samplePod(p, apiPort, tls)));
  }

  private async samplePod(pod: V1Pod, apiPort: number, tls: boolean): Promise<PodSample> {
    const base: PodSample = {
      pod: pod.metadata?.name ?? "",
      ready: isReady(pod),
      draining: !!pod.metadata?.deletionTimestamp,
      ...(pod.status?.phase === "Pending" || !pod.status?.phase ? { pending: true } : {}),
    };
    const url = base.ready || base.draining ? this.resolve(pod, apiPort, tls) : undefined;
    if (!url) return base;
    // Unreachable, slow or reset: this pod's load is missing, which the
    // decision treats as "do not shrink".
    const [system, metrics] = await Promise.all([
      this.http.get(`${url}/system`, tls),
      this.http.get(`${url}/metrics`, tls),
    ]);
    const sampled = metrics === undefined ? undefined : sumMetric(metrics, CPU_LOAD_METRIC);
    const load =
      sampled ?? (system ? (safeJson(system) as { cpu_load?: unknown } | undefined)?.cpu_load : undefined);
    const budget = cpuBudget(pod);
    const cpuPercent =
      typeof load === "number" && budget !== undefined ? cpuPercentFromLoad(load, budget) : undefined;
    const sessions = metrics === undefined ? undefined : (sumMetric(metrics, SESSIONS_METRIC) ?? 0);
    const calls = metrics === undefined ? undefined : sumMetric(metrics, CALLS_METRIC);
    return {
      ...base,
      ...(cpuPercent !== undefined ? { cpuPercent } : {}),
      ...(sessions !== undefined ? { sessions } : {}),
      ...(calls !== undefined ? { calls } : {}),
    };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
