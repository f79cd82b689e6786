// Status in the shape kstatus, Argo CD and Flux understand: observedGeneration
// plus Ready / Progressing / Degraded conditions (and kstatus's Reconciling /
// Stalled while they are True), replica counts for the scale
// subresource, and the endpoint to give the Mattermost server.
import type { V1DaemonSet, V1Deployment, V1Pod, V1Service } from "@kubernetes/client-node";
import type { AutoscalingStatus, Condition, MattermostRTCD, MattermostRTCDStatus } from "../api/index.ts";
import { applyDefaults } from "../api/index.ts";
import { endpoint, instanceSelector, mediaPortsStatus } from "../render/index.ts";

export interface StatusProblem {
  reason: string;
  message: string;
}

export interface StatusInput {
  cr: MattermostRTCD;
  /** The live workload of the wanted kind, if it exists. */
  workload: V1Deployment | V1DaemonSet | undefined;
  services: readonly V1Service[];
  problems: readonly StatusProblem[];
  now: Date;
  /** The cluster's DNS domain, for the endpoint (default cluster.local). */
  clusterDomain?: string;
  /** This instance's pods, to say why a rollout waits (the workload's status does not). */
  pods?: readonly V1Pod[];
  /** What the autoscaler saw and decided, for an autoscaled instance. */
  autoscaling?: AutoscalingStatus;
  /** The media probe's verdict (probe/condition.ts); absent when the probe is off. */
  mediaReachable?: Cond;
}

interface Counts {
  desired: number;
  replicas: number;
  ready: number;
  updated: number;
  available: number;
  observed: boolean;
}

const MAX_MESSAGE = 4096;

function counts(w: V1Deployment | V1DaemonSet | undefined): Counts {
  if (!w) return { desired: 0, replicas: 0, ready: 0, updated: 0, available: 0, observed: false };
  const observed = (w.status?.observedGeneration ?? -1) >= (w.metadata?.generation ?? 0);
  if (w.kind === "DaemonSet" || "desiredNumberScheduled" in (w.status ?? {})) {
    const st = (w as V1DaemonSet).status;
    return {
      desired: st?.desiredNumberScheduled ?? 0,
      replicas: st?.currentNumberScheduled ?? 0,
      ready: st?.numberReady ?? 0,
      updated: st?.updatedNumberScheduled ?? 0,
      available: st?.numberAvailable ?? 0,
      observed,
    };
  }
  const d = w as V1Deployment;
  return {
    desired: d.spec?.replicas ?? 1,
    replicas: d.status?.replicas ?? 0,
    ready: d.status?.readyReplicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    observed,
  };
}

/** A failure the workload controller reports (quota, bad template, stuck rollout). */
function workloadFailure(w: V1Deployment | V1DaemonSet | undefined): StatusProblem | undefined {
  const conds = (w as V1Deployment | undefined)?.status?.conditions ?? [];
  const failed = conds.find((c) => c.type === "ReplicaFailure" && c.status === "True");
  if (failed) return { reason: failed.reason ?? "ReplicaFailure", message: failed.message ?? "" };
  const stuck = conds.find((c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded");
  if (stuck) return { reason: "ProgressDeadlineExceeded", message: stuck.message ?? "" };
  return undefined;
}

/**
 * The scheduler's own words for a pod it cannot place: with host networking
 * the usual cause is two rtcd pods wanting one node's ports, and "0/3 nodes are
 * available: 3 node(s) didn't have free ports" says so where "1/2 available"
 * does not.
 */
function unschedulable(pods: readonly V1Pod[] | undefined): StatusProblem | undefined {
  const waiting = (pods ?? [])
    .filter((p) => !p.metadata?.deletionTimestamp && !p.spec?.nodeName)
    .map((p) => ({
      name: p.metadata?.name ?? "",
      cond: p.status?.conditions?.find(
        (c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable",
      ),
    }))
    .filter((p) => p.cond)
    .sort((a, b) => a.name.localeCompare(b.name));
  const first = waiting[0];
  if (!first) return undefined;
  const more = waiting.length > 1 ? ` (and ${waiting.length - 1} more)` : "";
  return { reason: "PodUnschedulable", message: `pod ${first.name}${more}: ${first.cond!.message ?? ""}` };
}

function loadBalancerPending(cr: MattermostRTCD, services: readonly V1Service[]): boolean {
  if (cr.spec?.networking?.mode !== "LoadBalancer") return false;
  const svc = services.find((s) => s.metadata?.name === `${cr.metadata!.name}-rtc`);
  return !svc?.status?.loadBalancer?.ingress?.length;
}

type Cond = Pick<Condition, "status" | "reason" | "message">;

export function computeStatus(input: StatusInput): MattermostRTCDStatus {
  const { cr, workload, services, problems, now } = input;
  const kind = cr.spec?.deploymentType ?? "Deployment";
  const c = counts(workload);
  const progress = `${c.updated}/${c.desired} updated, ${c.available}/${c.desired} available`;
  const failure = workloadFailure(workload);
  const problem = problems[0] ?? failure;

  let ready: Cond;
  let progressing: Cond;
  let degraded: Cond = { status: "False", reason: "AsExpected", message: "" };
  const rolledOut =
    c.observed && c.updated === c.desired && c.available === c.desired && c.replicas === c.desired;

  if (cr.spec?.paused) {
    const msg = "spec.paused is true: the operator changes nothing";
    ready = { status: "False", reason: "Paused", message: msg };
    progressing = { status: "False", reason: "Paused", message: msg };
  } else if (problem) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : "";
    const message = (problem.message + more).slice(0, MAX_MESSAGE);
    degraded = { status: "True", reason: problem.reason, message };
    ready = { status: "False", reason: problem.reason, message };
    progressing = { status: "False", reason: problem.reason, message: "waiting for the problem to be fixed" };
  } else if (!workload) {
    ready = { status: "False", reason: "WorkloadPending", message: `waiting for the ${kind} to be created` };
    progressing = { status: "True", reason: "Creating", message: `creating the ${kind}` };
  } else if (!c.observed) {
    const msg = `waiting for the ${kind} controller to observe the new spec`;
    ready = { status: "False", reason: "RolloutInProgress", message: msg };
    progressing = { status: "True", reason: "RollingOut", message: msg };
  } else if (!rolledOut) {
    const stuck = unschedulable(input.pods);
    const message = stuck ? `${progress}; ${stuck.message}`.slice(0, MAX_MESSAGE) : progress;
    ready = { status: "False", reason: stuck?.reason ?? "RolloutInProgress", message };
    progressing = { status: "True", reason: "RollingOut", message };
  } else if (loadBalancerPending(cr, services)) {
    const msg = "waiting for the load balancer of the RTC Service to get an address";
    ready = { status: "False", reason: "LoadBalancerPending", message: msg };
    progressing = { status: "True", reason: "LoadBalancerPending", message: msg };
  } else {
    ready = { status: "True", reason: "Available", message: `${c.available}/${c.desired} pods available` };
    progressing = { status: "False", reason: "RolloutComplete", message: progress };
  }

  const generation = cr.metadata?.generation;
  const previous = cr.status?.conditions ?? [];
  const time = now.toISOString().replace(/\.\d+Z$/, "Z");
  const condition = (type: string, v: Cond): Condition => {
    const old = previous.find((p) => p.type === type);
    return {
      type,
      status: v.status,
      reason: v.reason,
      message: v.message,
      // Moves only when the status flips, as in the Kubernetes convention.
      lastTransitionTime:
        old && old.status === v.status && old.lastTransitionTime ? old.lastTransitionTime : time,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  };

  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: [
      condition("Ready", ready),
      condition("Progressing", progressing),
      condition("Degraded", degraded),
      // kstatus (Flux, kpt, cli-utils) reads Ready=False as "in progress"
      // forever: only Stalled makes it "failed" (and Reconciling says why it
      // waits). Both are present only while True, as kstatus expects.
      ...(progressing.status === "True" ? [condition("Reconciling", progressing)] : []),
      ...(degraded.status === "True" ? [condition("Stalled", degraded)] : []),
      ...(input.mediaReachable && !cr.spec?.paused
        ? [condition("MediaReachable", input.mediaReachable)]
        : []),
    ],
    deploymentType: kind,
    desiredReplicas: c.desired,
    replicas: c.replicas,
    readyReplicas: c.ready,
    updatedReplicas: c.updated,
    availableReplicas: c.available,
    selector: instanceSelector(cr.metadata!.name!),
    endpoint: endpoint(cr, input.clusterDomain),
    // From the spec alone (defaulted as the API server stores it): the ports exist once the pods do.
    mediaPorts: mediaPortsStatus(applyDefaults(structuredClone(cr))),
    ...(input.autoscaling && !cr.spec?.paused ? { autoscaling: input.autoscaling } : {}),
  };
}

/** Equal for the purpose of writing: lastTransitionTime alone is no reason to write. */
export function statusEqual(
  a: MattermostRTCDStatus | undefined,
  b: MattermostRTCDStatus | undefined,
): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(s: MattermostRTCDStatus | undefined): unknown {
  if (!s) return null;
  const conditions = [...(s.conditions ?? [])]
    .sort((x, y) => (x.type < y.type ? -1 : 1))
    .map((c) => sorted({ ...c, lastTransitionTime: undefined, message: c.message || undefined }));
  return sorted({ ...s, conditions });
}

// Keys sorted at every depth: the API server returns a custom resource's
// objects with sorted keys (status.mediaPorts.ports[] as {port, worker}), so
// key order alone must never read as a change and cause a write per resync.
function sorted(o: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([k, v]) => [k, deepSorted(v)]),
  );
}

function deepSorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deepSorted);
  return v !== null && typeof v === "object" ? sorted(v) : v;
}
