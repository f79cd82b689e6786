// "Absent" or "exists but not ours"? The caches only hold objects with our
// managed-by label, so a user's own Service or Deployment that happens to carry
// the name we would give ours looks absent there; a forced server-side apply
// would then take it over and add our owner reference, and deleting the CR
// would later delete the user's object. So before creating, ask the API server
// directly (one GET, and only on the create path: an unchanged CR costs nothing).
import type { KubernetesObject } from "@kubernetes/client-node";
import type { MattermostRTCD } from "../api/index.ts";
import type { ResourceType } from "../api/resources.ts";
import type { KubeClient } from "./kube-client.ts";

export interface NameConflict {
  kind: string;
  name: string;
  /** Why the object is not ours, for the status message. */
  why: string;
}

/** True when this CR is the object's controller (we created it, or adopted it before this check existed). */
export function controlledBy(obj: KubernetesObject, cr: MattermostRTCD): boolean {
  return !!obj.metadata?.ownerReferences?.some((r) => r.controller && r.uid === cr.metadata?.uid);
}

function notOursBecause(obj: KubernetesObject): string {
  const owner = obj.metadata?.ownerReferences?.find((r) => r.controller);
  return owner ? `it is controlled by ${owner.kind} "${owner.name}"` : "it was not created by this operator";
}

/**
 * The desired objects whose name is taken by an object this CR does not
 * control. `cached` is what the label-filtered cache holds (undefined: looks
 * absent); only then is the API server asked.
 */
export async function findConflicts(
  client: KubeClient,
  cr: MattermostRTCD,
  desired: readonly { obj: KubernetesObject; type: ResourceType; cached: KubernetesObject | undefined }[],
): Promise<NameConflict[]> {
  const conflicts: NameConflict[] = [];
  for (const { obj, type, cached } of desired) {
    const md = obj.metadata!;
    const live = cached ?? (await client.getOrUndefined(type, md.namespace, md.name!));
    if (live && !controlledBy(live, cr)) {
      conflicts.push({ kind: obj.kind!, name: md.name!, why: notOursBecause(live) });
    }
  }
  return conflicts;
}

export function conflictMessage(conflicts: readonly NameConflict[], namespace: string): string {
  const list = conflicts.map((c) => `${c.kind}/${c.name} (${c.why})`).join(", ");
  return (
    `${list} already exist${conflicts.length === 1 ? "s" : ""} in namespace "${namespace}": ` +
    "the operator does not take over objects it did not create and changes nothing until the name is free " +
    "(delete or rename the object, or rename this MattermostRTCD)"
  );
}
