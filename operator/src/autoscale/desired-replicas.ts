// The autoscaler's decision as a pure function of what it saw, so that every
// rule users rely on is unit-tested without a cluster:
// - the pods needed are the larger of CPU and sessions against their targets,
//   plus bufferPods, within [minReplicas, maxReplicas];
// - growth is immediate; shrinking goes only down to the highest
//   recommendation of the stabilisation window (the HPA's rule), and the
//   window starts again when the operator starts (no history yet);
// - missing data (a started pod unready or silent, no serving pod at all)
//   never shrinks the fleet; it may still grow it, counting silent pods as
//   idle. A pod that never started holds no call, so it is not missing data
//   (else one unschedulable pod would pin the fleet at its peak).

export interface AutoscalerPolicy {
  minReplicas: number;
  maxReplicas: number;
  targetCPUPercent?: number;
  targetSessionsPerPod?: number;
  scaleDownStabilizationSeconds: number;
  bufferPods: number;
}

/** One pod as the sampler saw it; a signal is undefined when it could not be read. */
export interface PodSample {
  pod: string;
  ready: boolean;
  /** Stopping (deletionTimestamp set): no longer capacity, still holding calls. */
  draining: boolean;
  /** Not started (phase Pending, e.g. no node fits): neither capacity nor calls. */
  pending?: boolean;
  cpuPercent?: number;
  sessions?: number;
  calls?: number;
}

export interface Recommendation {
  /** Milliseconds (any monotonic origin, the same for every call). */
  at: number;
  replicas: number;
}

export interface DesiredInput {
  policy: AutoscalerPolicy;
  /** The Deployment's replicas now. */
  current: number;
  samples: readonly PodSample[];
  history: readonly Recommendation[];
  now: number;
}

export interface FleetLoad {
  readyPods: number;
  drainingPods: number;
  /** Ready pods with every signal the policy uses. */
  sampledPods: number;
  sessions: number;
  calls?: number;
  cpuPercent?: number;
  sessionsPerPod?: number;
  loadPercent?: number;
  headroomSessions?: number;
}

export interface Decision {
  desired: number;
  /** What the load alone asks for (bounds and buffer applied, before the window). */
  recommended: number;
  history: Recommendation[];
  reason: string;
  missingData: boolean;
  load: FleetLoad;
}

/**
 * rtcd's /system cpu_load is elapsed seconds over idle CPU-seconds (the
 * plugin's scale; ours counts idle within the pod's budget). With the budget
 * in CPUs that is a use of 1 - 1/(load * budget). 0 means "no sample yet".
 */
export function cpuPercentFromLoad(load: number, budgetCPUs: number): number | undefined {
  if (!(load > 0) || !(budgetCPUs > 0)) return undefined;
  const idle = 1 / (load * budgetCPUs);
  return Math.round(Math.min(100, Math.max(0, 100 * (1 - idle))));
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));
// A fleet exactly at target needs exactly that many pods, whatever the float error.
const EPSILON = 1e-9;

export function desiredReplicas(input: DesiredInput): Decision {
  const { policy: p, current, samples, now } = input;
  const serving = samples.filter((s) => s.ready && !s.draining);
  const draining = samples.filter((s) => s.draining);
  const complete = (s: PodSample) =>
    (p.targetCPUPercent === undefined || s.cpuPercent !== undefined) &&
    (p.targetSessionsPerPod === undefined || s.sessions !== undefined);
  const sampled = serving.filter(complete);
  const started = samples.filter((s) => !s.draining && !s.pending).length;
  const missingData = serving.length === 0 || sampled.length < started;

  const sum = (xs: readonly PodSample[], f: (s: PodSample) => number | undefined) =>
    xs.reduce((a, s) => a + (f(s) ?? 0), 0);
  const cpuSum = sum(sampled, (s) => s.cpuPercent);
  const sessions = sum(serving, (s) => s.sessions);
  const withCalls = serving.filter((s) => s.calls !== undefined);
  const needCPU = p.targetCPUPercent ? cpuSum / p.targetCPUPercent : 0;
  const needSessions = p.targetSessionsPerPod ? sessions / p.targetSessionsPerPod : 0;
  const need = Math.max(0, Math.ceil(Math.max(needCPU, needSessions) - EPSILON));
  const recommended = clamp(need + p.bufferPods, p.minReplicas, p.maxReplicas);

  const load = fleetLoad(p, sampled, {
    readyPods: serving.length,
    drainingPods: draining.length,
    sampledPods: sampled.length,
    sessions,
    ...(withCalls.length ? { calls: sum(withCalls, (s) => s.calls) } : {}),
  });

  // No history means the operator just started: the window starts now, from
  // the replicas it found, so a restart never shrinks the fleet at once.
  const seed = input.history.length ? input.history : [{ at: now, replicas: current }];
  const since = now - p.scaleDownStabilizationSeconds * 1000;
  const held = missingData && recommended < current ? current : recommended;
  const history = [...seed.filter((h) => h.at > since), { at: now, replicas: held }];

  let desired: number;
  let reason: string;
  const signal = needCPU >= needSessions && p.targetCPUPercent ? "cpu" : "sessions";
  const why = describe(p, load, signal);
  if (recommended >= current) {
    desired = recommended;
    reason = recommended > current ? `scale up: ${why}` : `steady: ${why}`;
  } else {
    const windowMax = Math.max(...history.map((h) => h.replicas));
    desired = clamp(Math.min(current, windowMax), p.minReplicas, p.maxReplicas);
    if (missingData) reason = `holding ${current}: load of some pods missing (${why})`;
    else if (desired < current) reason = `scale down: ${why}`;
    else
      reason = `holding ${desired} for the ${p.scaleDownStabilizationSeconds}s scale-down window (load asks for ${recommended}: ${why})`;
  }
  return { desired, recommended, history, reason, missingData, load };
}

function fleetLoad(p: AutoscalerPolicy, sampled: readonly PodSample[], base: FleetLoad): FleetLoad {
  const n = sampled.length;
  if (n === 0) return base;
  const cpuSum = sampled.reduce((a, s) => a + (s.cpuPercent ?? 0), 0);
  const sessionSum = sampled.reduce((a, s) => a + (s.sessions ?? 0), 0);
  const hasCPU = sampled.every((s) => s.cpuPercent !== undefined);
  const hasSessions = sampled.every((s) => s.sessions !== undefined);
  const cpuPercent = hasCPU ? Math.round(cpuSum / n) : undefined;
  const sessionsPerPod = hasSessions ? Math.round(sessionSum / n) : undefined;
  const ratios: number[] = [];
  if (p.targetCPUPercent && hasCPU) ratios.push(cpuSum / n / p.targetCPUPercent);
  if (p.targetSessionsPerPod && hasSessions) ratios.push(sessionSum / n / p.targetSessionsPerPod);
  const room: number[] = [];
  if (p.targetSessionsPerPod && hasSessions)
    room.push(base.readyPods * p.targetSessionsPerPod - base.sessions);
  // CPU grows with sessions: at the sessions each CPU-percent carries now.
  if (p.targetCPUPercent && hasCPU && cpuSum > 0 && sessionSum > 0)
    room.push((sessionSum * p.targetCPUPercent * n) / cpuSum - sessionSum);
  return {
    ...base,
    ...(cpuPercent !== undefined ? { cpuPercent } : {}),
    ...(sessionsPerPod !== undefined ? { sessionsPerPod } : {}),
    ...(ratios.length ? { loadPercent: Math.round(100 * Math.max(...ratios)) } : {}),
    ...(room.length ? { headroomSessions: Math.max(0, Math.floor(Math.min(...room))) } : {}),
  };
}

function describe(p: AutoscalerPolicy, l: FleetLoad, signal: "cpu" | "sessions"): string {
  const parts: string[] = [];
  if (p.targetCPUPercent !== undefined)
    parts.push(`cpu ${l.cpuPercent ?? "?"}% per pod (target ${p.targetCPUPercent}%)`);
  if (p.targetSessionsPerPod !== undefined)
    parts.push(`${l.sessionsPerPod ?? "?"} sessions per pod (target ${p.targetSessionsPerPod})`);
  return `${parts.join(", ")}; ${signal} decides; ${l.sampledPods}/${l.readyPods} ready pods sampled, buffer ${p.bufferPods}`;
}
