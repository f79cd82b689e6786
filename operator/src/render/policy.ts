// Objects around the workload: the ServiceAccount, the PodDisruptionBudget
// and the ServiceMonitor.
import type { KubernetesObject, V1PodDisruptionBudget, V1ServiceAccount } from "@kubernetes/client-node";
import type { DefaultedMattermostRTCD } from "../api/index.ts";
import { RESOURCES } from "../api/resources.ts";
import { meta, nameOf, object, selectorLabels, serviceAccountName, tlsEnabled } from "./names.ts";

export function serviceAccount(cr: DefaultedMattermostRTCD): KubernetesObject | undefined {
  const sa = cr.spec.serviceAccount;
  if (!sa.create) return undefined;
  return object<V1ServiceAccount>(
    RESOURCES.ServiceAccount,
    meta(cr, serviceAccountName(cr), { annotations: sa.annotations }),
    // rtcd never calls the Kubernetes API.
    { automountServiceAccountToken: false },
  );
}

/** On by default for a Deployment; a DaemonSet gets one only when asked (node drains skip DaemonSet pods). */
export function pdbEnabled(cr: DefaultedMattermostRTCD): boolean {
  const p = cr.spec.podDisruptionBudget;
  return p?.enabled ?? cr.spec.deploymentType !== "DaemonSet";
}

export function podDisruptionBudget(cr: DefaultedMattermostRTCD): KubernetesObject | undefined {
  if (!pdbEnabled(cr)) return undefined;
  const p = cr.spec.podDisruptionBudget ?? {};
  const budget =
    p.minAvailable !== undefined
      ? { minAvailable: p.minAvailable }
      : { maxUnavailable: p.maxUnavailable ?? 1 };
  return object<V1PodDisruptionBudget>(RESOURCES.PodDisruptionBudget, meta(cr, nameOf(cr)), {
    spec: { selector: { matchLabels: selectorLabels(nameOf(cr)) }, ...budget },
  });
}

export function serviceMonitor(
  cr: DefaultedMattermostRTCD,
  available: boolean,
  warnings: string[],
): KubernetesObject | undefined {
  const sm = cr.spec.serviceMonitor;
  if (!sm.enabled) return undefined;
  if (!available) {
    warnings.push(
      "spec.serviceMonitor.enabled: the ServiceMonitor CRD (monitoring.coreos.com/v1) is not installed, so no ServiceMonitor was created",
    );
    return undefined;
  }
  return object(RESOURCES.ServiceMonitor, meta(cr, nameOf(cr), { labels: sm.labels }), {
    spec: {
      selector: { matchLabels: selectorLabels(nameOf(cr)) },
      endpoints: [
        { port: "api", path: "/metrics", interval: sm.interval, scheme: tlsEnabled(cr) ? "https" : "http" },
      ],
    },
  });
}
