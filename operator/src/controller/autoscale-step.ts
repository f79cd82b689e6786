// The reconciler's autoscaling step, apart from the reconciler so that its
// order of writes reads in one place:
// 1. the replicas to render come from the autoscaler's newest decision;
// 2. before fewer replicas are applied, every serving pod carries its session
//    count as controller.kubernetes.io/pod-deletion-cost, and the lower count
//    is applied only once our cache shows all of them (so the ReplicaSet
//    controller, which removes the lowest cost first, removes the emptiest
//    pods; a pod with calls goes only when every pod has calls);
// 3. after the apply, Events say what changed and which pods drain.
import type { KubernetesObject, V1Deployment, V1Pod } from "@kubernetes/client-node";
import type { AutoscalingStatus, DefaultedMattermostRTCD } from "../api/index.ts";
import { RESOURCES, type ResourceType } from "../api/resources.ts";
import { DELETION_COST_ANNOTATION, policyOf, type Autoscaler } from "../autoscale/autoscaler.ts";
import type { PodSample } from "../autoscale/desired-replicas.ts";
import type { EventRecorder } from "./events.ts";
import { controlledBy } from "./ownership.ts";
import type { KubeClient } from "./kube-client.ts";
import type { Logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";

export interface AutoscaleDeps {
  client: KubeClient;
  autoscaler: Autoscaler;
  events: EventRecorder;
  fieldManager: string;
}

export interface AutoscalePlan {
  replicas: number;
  /** The live Deployment's replicas before this reconcile. */
  current: number | undefined;
  status: AutoscalingStatus | undefined;
  reason: string | undefined;
  samples: readonly PodSample[];
}

/** The reconciler's caches, as far as this step reads them. */
export interface AutoscaleCaches {
  getOwned(type: ResourceType, namespace: string, name: string): KubernetesObject | undefined;
  listPods(namespace: string, instance: string): readonly V1Pod[];
}

export async function planAutoscale(
  deps: AutoscaleDeps,
  caches: AutoscaleCaches,
  cr: DefaultedMattermostRTCD,
  log: Logger,
): Promise<AutoscalePlan | undefined> {
  const ns = cr.metadata!.namespace!;
  const name = cr.metadata!.name!;
  const found = caches.getOwned(RESOURCES.Deployment, ns, name) as V1Deployment | undefined;
  const live = found && controlledBy(found, cr) ? found : undefined;
  const pods = caches.listPods(ns, name);
  const policy = policyOf(cr);
  if (!policy) {
    deps.autoscaler.forget(ns, name);
    return undefined;
  }
  const current = live?.spec?.replicas;
  const view = deps.autoscaler.observe(cr, policy, pods, current);
  let replicas = view.replicas;
  let reason = view.decision?.reason;
  if (current !== undefined && replicas < current) {
    const waiting = await setDeletionCosts(deps, pods, view.samples, log);
    if (waiting) {
      reason = `${reason ?? "scale down"}; first marking the emptiest pods to go first (${waiting})`;
      replicas = current;
    }
  }
  const status = deps.autoscaler.status(ns, name, view);
  return { replicas, current, samples: view.samples, reason, status: status && { ...status, reason } };
}

/**
 * Sets each serving pod's deletion cost to its sessions. Returns why scale-in
 * must wait (a patch just made or failed, a pod's sessions unknown), or
 * undefined when every cost is already in place.
 */
async function setDeletionCosts(
  deps: AutoscaleDeps,
  pods: readonly V1Pod[],
  samples: readonly PodSample[],
  log: Logger,
): Promise<string | undefined> {
  const byName = new Map(samples.map((s) => [s.pod, s]));
  let patched = 0;
  let unknown = 0;
  let failed = 0;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const sessions = byName.get(pod.metadata?.name ?? "")?.sessions;
    if (sessions === undefined) {
      unknown++;
      continue;
    }
    const want = String(sessions);
    if (pod.metadata?.annotations?.[DELETION_COST_ANNOTATION] === want) continue;
    try {
      await deps.client.mergePatch(
        RESOURCES.Pod,
        pod.metadata!.namespace!,
        pod.metadata!.name!,
        { metadata: { annotations: { [DELETION_COST_ANNOTATION]: want } } },
        deps.fieldManager,
      );
      patched++;
      log.info("autoscaler: set pod deletion cost", { pod: pod.metadata!.name, cost: want });
    } catch (err) {
      failed++;
      log.warn("autoscaler: could not set pod deletion cost", {
        pod: pod.metadata!.name,
        error: errorMessage(err),
      });
    }
  }
  const parts = [
    patched ? `${patched} pod(s) annotated` : "",
    unknown ? `${unknown} pod(s) with unknown sessions` : "",
    failed ? `${failed} annotation(s) failed` : "",
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : undefined;
}

/** Events after the workload was applied: the scale change, and pods that began to drain. */
export function reportAutoscale(
  deps: AutoscaleDeps,
  cr: DefaultedMattermostRTCD,
  plan: AutoscalePlan,
  log: Logger,
): void {
  const ns = cr.metadata!.namespace!;
  const name = cr.metadata!.name!;
  if (plan.current !== undefined && plan.replicas !== plan.current) {
    deps.autoscaler.scaled(ns, name);
    const up = plan.replicas > plan.current;
    const message = `${plan.current} -> ${plan.replicas} replicas: ${plan.reason ?? ""}`;
    log.info(up ? "autoscaler: scaled up" : "autoscaler: scaled down", {
      from: plan.current,
      to: plan.replicas,
      reason: plan.reason,
    });
    deps.events.record(cr, "Normal", up ? "ScaledUp" : "ScaledDown", message);
  }
  for (const s of deps.autoscaler.newlyDraining(ns, name, plan.samples)) {
    const holds =
      s.sessions === undefined ? "sessions unknown" : `${s.sessions} session(s)` + callsText(s.calls);
    deps.events.record(
      cr,
      "Normal",
      "PodDraining",
      `pod ${s.pod} is draining with ${holds}: it takes no new call and stops when its calls end`,
    );
  }
}

function callsText(calls: number | undefined): string {
  return calls === undefined ? "" : `, ${calls} call(s)`;
}
