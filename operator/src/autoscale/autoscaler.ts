// The autoscaler's state between reconciles: the latest per-pod samples, the
// recommendation history of the stabilisation window, and what it last
// decided. Reconciles never wait for rtcd: a reconcile starts a sample in the
// background when the last one is stale and uses the newest one it has; a
// finished sample enqueues its instance again (`onSampled`).
import type { V1Pod } from "@kubernetes/client-node";
import type { AutoscalingStatus, DefaultedMattermostRTCD } from "../api/index.ts";
import type { Logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";
import { desiredReplicas, type AutoscalerPolicy, type Decision, type PodSample } from "./desired-replicas.ts";
import type { Sampler } from "./sampler.ts";

/** Annotation the ReplicaSet controller reads to pick which pods go first on scale-in (lowest first). */
export const DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

export interface AutoscalerMetricsSink {
  decided(namespace: string, name: string, d: Decision): void;
  forget(namespace: string, name: string): void;
}

interface InstanceState {
  samples?: PodSample[];
  sampledAt?: number;
  sampling: boolean;
  history: Decision["history"];
  decision?: Decision;
  decidedFor?: number;
  lastScaleTime?: string;
  announcedDraining: Set<string>;
}

export interface AutoscaleView {
  /** Replicas to render. */
  replicas: number;
  decision?: Decision;
  samples: readonly PodSample[];
}

export function policyOf(cr: DefaultedMattermostRTCD): AutoscalerPolicy | undefined {
  const a = cr.spec.autoscaling;
  if (!a || a.enabled === false || cr.spec.deploymentType === "DaemonSet") return undefined;
  return {
    minReplicas: a.minReplicas,
    maxReplicas: a.maxReplicas,
    ...(a.targetCPUPercent !== undefined ? { targetCPUPercent: a.targetCPUPercent } : {}),
    ...(a.targetSessionsPerPod !== undefined ? { targetSessionsPerPod: a.targetSessionsPerPod } : {}),
    scaleDownStabilizationSeconds: a.scaleDownStabilizationSeconds,
    bufferPods: a.bufferPods,
  };
}

export class Autoscaler {
  readonly intervalMs: number;
  private readonly sampler: Sampler;
  private readonly onSampled: (namespace: string, name: string) => void;
  private readonly metrics: AutoscalerMetricsSink | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly state = new Map<string, InstanceState>();

  constructor(opts: {
    sampler: Sampler;
    intervalMs: number;
    onSampled: (namespace: string, name: string) => void;
    log: Logger;
    metrics?: AutoscalerMetricsSink;
    now?: () => number;
  }) {
    this.sampler = opts.sampler;
    this.intervalMs = opts.intervalMs;
    this.onSampled = opts.onSampled;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.now = opts.now ?? (() => Date.now());
  }

  /** Drops what is kept for an instance that no longer autoscales (or is gone). */
  forget(namespace: string, name: string): void {
    if (this.state.delete(`${namespace}/${name}`)) this.metrics?.forget(namespace, name);
  }

  /**
   * What to render for an autoscaled instance now. `current` is the live
   * Deployment's replicas (undefined before it exists).
   */
  observe(
    cr: DefaultedMattermostRTCD,
    policy: AutoscalerPolicy,
    pods: readonly V1Pod[],
    current: number | undefined,
  ): AutoscaleView {
    const ns = cr.metadata!.namespace!;
    const name = cr.metadata!.name!;
    const key = `${ns}/${name}`;
    let st = this.state.get(key);
    if (!st) this.state.set(key, (st = { sampling: false, history: [], announcedDraining: new Set() }));
    const now = this.now();
    if (!st.sampling && (st.sampledAt === undefined || now - st.sampledAt >= this.intervalMs * 0.8))
      this.startSample(st, cr, pods, ns, name);

    const start = Math.min(policy.maxReplicas, Math.max(policy.minReplicas, current ?? policy.minReplicas));
    if (current === undefined || !st.samples) return { replicas: start, samples: st.samples ?? [] };
    // One decision per sample: a reconcile for another reason reuses it.
    if (st.decidedFor !== st.sampledAt || !st.decision) {
      st.decision = desiredReplicas({
        policy,
        current,
        samples: st.samples,
        history: st.history,
        now: st.sampledAt!,
      });
      st.history = st.decision.history;
      st.decidedFor = st.sampledAt;
      this.metrics?.decided(ns, name, st.decision);
    }
    return { replicas: st.decision.desired, decision: st.decision, samples: st.samples };
  }

  /** Called once the replicas actually changed on the Deployment. */
  scaled(namespace: string, name: string): void {
    const st = this.state.get(`${namespace}/${name}`);
    if (st) st.lastScaleTime = new Date(this.now()).toISOString().replace(/\.\d+Z$/, "Z");
  }

  /** Pods that started draining since the last call (each is reported once). */
  newlyDraining(namespace: string, name: string, samples: readonly PodSample[]): PodSample[] {
    const st = this.state.get(`${namespace}/${name}`);
    if (!st) return [];
    const draining = samples.filter((s) => s.draining);
    const fresh = draining.filter((s) => !st.announcedDraining.has(s.pod));
    st.announcedDraining = new Set(draining.map((s) => s.pod));
    return fresh;
  }

  status(namespace: string, name: string, view: AutoscaleView): AutoscalingStatus | undefined {
    const d = view.decision;
    if (!d) return undefined;
    const st = this.state.get(`${namespace}/${name}`);
    const l = d.load;
    const draining = view.samples
      .filter((s) => s.draining)
      .sort((a, b) => a.pod.localeCompare(b.pod))
      .slice(0, 100)
      .map((s) => ({
        pod: s.pod,
        ...(s.sessions !== undefined ? { sessions: s.sessions } : {}),
        ...(s.calls !== undefined ? { calls: s.calls } : {}),
      }));
    return {
      desiredReplicas: d.desired,
      recommendedReplicas: d.recommended,
      readyPods: l.readyPods,
      drainingPods: l.drainingPods,
      sampledPods: l.sampledPods,
      sessions: l.sessions,
      ...(l.calls !== undefined ? { calls: l.calls } : {}),
      ...(l.cpuPercent !== undefined ? { cpuPercent: l.cpuPercent } : {}),
      ...(l.sessionsPerPod !== undefined ? { sessionsPerPod: l.sessionsPerPod } : {}),
      ...(l.loadPercent !== undefined ? { loadPercent: l.loadPercent } : {}),
      ...(l.headroomSessions !== undefined ? { headroomSessions: l.headroomSessions } : {}),
      reason: d.reason.slice(0, 1024),
      ...(st?.lastScaleTime ? { lastScaleTime: st.lastScaleTime } : {}),
      ...(draining.length ? { draining } : {}),
    };
  }

  private startSample(
    st: InstanceState,
    cr: DefaultedMattermostRTCD,
    pods: readonly V1Pod[],
    ns: string,
    name: string,
  ): void {
    st.sampling = true;
    const tls = cr.spec.rtcd.tls?.enabled === true;
    this.sampler
      .sample(pods, cr.spec.apiPort, tls)
      .then((samples) => {
        st.samples = samples;
        st.sampledAt = this.now();
        st.sampling = false;
        // Not for a failed sample: the periodic requeue tries again, no loop.
        if (this.state.get(`${ns}/${name}`) === st) this.onSampled(ns, name);
      })
      .catch((err: unknown) => {
        st.sampling = false;
        this.log.warn("autoscaler: sampling failed", { namespace: ns, name, error: errorMessage(err) });
      });
  }
}
