// What the informer caches keep of each object. The API server sends whole
// objects; kept as they come, 1000 instances' Deployments, Services, Secrets,
// Pods and CRs cost the operator hundreds of MiB, much of it fields nothing
// here reads:
// - metadata.managedFields: server-side apply's bookkeeping, often larger than
//   the spec (the reconciler compares intent with live fields, never reads it);
// - the last-applied-configuration annotation `kubectl apply` writes: a second
//   copy of the whole object as JSON text;
// - of a Pod, everything but what status computation reads (compute.ts: the
//   pod's name, labels, deletion, spec.nodeName and status.conditions).
// Objects are slimmed once, as they arrive, before the cache holds them.
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import type { ResourceType } from "../api/resources.ts";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

export function slimForCache<T extends KubernetesObject>(type: ResourceType, obj: T): T {
  const md = obj.metadata;
  if (md) {
    delete md.managedFields;
    if (md.annotations && LAST_APPLIED in md.annotations) {
      const { [LAST_APPLIED]: _dropped, ...rest } = md.annotations;
      md.annotations = rest;
    }
  }
  if (type.kind === "Pod" && !type.group) {
    const pod = obj as V1Pod;
    const nodeName = pod.spec?.nodeName;
    // V1PodSpec requires `containers`; an empty list says "not kept".
    pod.spec = nodeName ? { containers: [], nodeName } : { containers: [] };
    const conditions = pod.status?.conditions;
    pod.status = conditions ? { conditions } : {};
  }
  return obj;
}
