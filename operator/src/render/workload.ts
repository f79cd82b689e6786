// The Deployment or DaemonSet that runs rtcd. Both are named after the
// resource, so switching deploymentType replaces one with the other.
import type { KubernetesObject, V1DaemonSet, V1Deployment, V1PodTemplateSpec } from "@kubernetes/client-node";
import { DEFAULT_REPLICAS, type DefaultedMattermostRTCD } from "../api/index.ts";
import { RESOURCES } from "../api/resources.ts";
import { meta, nameOf, object, selectorLabels } from "./names.ts";

const PROGRESS_MARGIN_SECONDS = 600;

/**
 * `autoscaled`: the autoscaler's replicas. Without them (an offline render) an
 * autoscaled Deployment starts at minReplicas.
 */
export function workload(
  cr: DefaultedMattermostRTCD,
  template: V1PodTemplateSpec,
  autoscaled?: number,
): KubernetesObject {
  const s = cr.spec;
  const u = s.updateStrategy;
  const selector = { matchLabels: selectorLabels(nameOf(cr)) };
  if (s.deploymentType === "DaemonSet") {
    return object<V1DaemonSet>(RESOURCES.DaemonSet, meta(cr, nameOf(cr)), {
      spec: {
        selector,
        updateStrategy:
          u.type === "OnDelete"
            ? { type: "OnDelete" }
            : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: u.maxUnavailable } },
        template,
      },
    });
  }
  return object<V1Deployment>(RESOURCES.Deployment, meta(cr, nameOf(cr)), {
    spec: {
      replicas: autoscaled ?? replicasOf(cr),
      // A replacement pod may wait for a draining one to free its node or
      // zone for the whole grace period; only after that is a rollout stuck.
      progressDeadlineSeconds: s.terminationGracePeriodSeconds + PROGRESS_MARGIN_SECONDS,
      selector,
      strategy:
        u.type === "Recreate"
          ? { type: "Recreate" }
          : {
              type: "RollingUpdate",
              rollingUpdate: { maxUnavailable: u.maxUnavailable, maxSurge: u.maxSurge },
            },
      template,
    },
  });
}

function replicasOf(cr: DefaultedMattermostRTCD): number {
  const a = cr.spec.autoscaling;
  if (a && a.enabled !== false) return a.minReplicas;
  return cr.spec.replicas ?? DEFAULT_REPLICAS;
}
