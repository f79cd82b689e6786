// What the informer caches keep of each object. The API server sends whole
// objects; kept as they come, 1000 instances' Deployments, Services, Secrets,
// Pods and CRs cost the operator hundreds of MiB, much of it fields nothing
// here reads:
// - metadata.managedFields: server-side apply's bookkeeping, often larger than
//   the spec (the reconciler compares intent with live fields, never reads it);
// - the last-applied-configuration annotation `kubectl apply` writes: a second
//   copy of the whole object as JSON text;
// - of a Pod, everything but what is read of it: status computation
//   (compute.ts: name, labels, deletion, spec.nodeName, status.conditions),
//   the autoscaler (status.podIP and phase, the containers' CPU limits, the
//   deletion-cost annotation) and the Mattermost client's registrar
//   (status.podIP and phase). A new reader of pods adds its fields here.
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
    // Each container's name and CPU limit only (the autoscaler's CPU budget).
    const containers = (pod.spec?.containers ?? []).map((c) => {
      const cpu = c.resources?.limits?.["cpu"];
      return cpu === undefined ? { name: c.name } : { name: c.name, resources: { limits: { cpu } } };
    });
    pod.spec = nodeName ? { containers, nodeName } : { containers };
    const { conditions, podIP, phase } = pod.status ?? {};
    pod.status = {
      ...(conditions ? { conditions } : {}),
      ...(podIP ? { podIP } : {}),
      ...(phase ? { phase } : {}),
    };
  }
  return obj;
}
