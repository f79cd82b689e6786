// Every Kubernetes resource type the operator reads or writes, in one place:
// render builds objects from these (apiVersion and kind), and the controller
// lists, watches, applies and prunes through them. The chart's RBAC rules
// must grant the same list.
import { GROUP, KIND, PLURAL, VERSION } from "./crd.ts";

export interface ResourceType {
  group: string; // "" for the core group
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** How the operator follows a type. */
export type Watch =
  /** Informers on every MattermostRTCD (the reconcile triggers). */
  | "all"
  /** Rendered, applied and pruned; informers on the objects labelled managed-by the operator. */
  | "owned"
  /** Not ours, but informers on the labelled ones (pods, for status). */
  | "labelled"
  /** Read or written on demand only. */
  | "none";

export interface Resource extends ResourceType {
  watch: Watch;
  /** Only used when the cluster serves it (found by discovery at start). */
  optional?: true;
}

const core = (kind: string, plural: string, watch: Watch): Resource => ({
  group: "",
  version: "v1",
  plural,
  kind,
  namespaced: true,
  watch,
});
const grouped = (group: string, kind: string, plural: string, watch: Watch): Resource => ({
  group,
  version: "v1",
  plural,
  kind,
  namespaced: true,
  watch,
});

export const RESOURCES = {
  MattermostRTCD: {
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    kind: KIND,
    namespaced: true,
    watch: "all",
  },
  // Owned: the generated admin Secret. Secrets the spec references are the
  // user's; a SecretWatch follows those by name.
  Secret: core("Secret", "secrets", "owned"),
  ConfigMap: core("ConfigMap", "configmaps", "owned"),
  ServiceAccount: core("ServiceAccount", "serviceaccounts", "owned"),
  Service: core("Service", "services", "owned"),
  Deployment: grouped("apps", "Deployment", "deployments", "owned"),
  DaemonSet: grouped("apps", "DaemonSet", "daemonsets", "owned"),
  PodDisruptionBudget: grouped("policy", "PodDisruptionBudget", "poddisruptionbudgets", "owned"),
  ServiceMonitor: {
    ...grouped("monitoring.coreos.com", "ServiceMonitor", "servicemonitors", "owned"),
    optional: true,
  },
  Pod: core("Pod", "pods", "labelled"),
  Event: core("Event", "events", "none"),
  Lease: grouped("coordination.k8s.io", "Lease", "leases", "none"),
} as const satisfies Record<string, Resource>;

/** The types render produces and the controller watches and prunes. */
export const ownedTypes: readonly Resource[] = Object.values(RESOURCES).filter((r) => r.watch === "owned");

export function apiVersionOf(t: Pick<ResourceType, "group" | "version">): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}
