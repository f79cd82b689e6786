// The objects the benchmark creates: its MattermostRTCDs, the floor's copy of
// what the operator writes for each, and its own tainted kwok nodes.
import { randomBytes } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import { applyDefaults, type MattermostRTCD } from "../src/api/index.ts";
import { apiVersionOf, type ResourceType } from "../src/api/resources.ts";
import { instanceSelector, ownedTypes, render } from "../src/render/index.ts";
import { kwokNode } from "@mattermost-rtcd/e2e/cluster";

export const OWNER_LABEL = "bench-op/owner";
export const RUN_LABEL = "bench-op/run";
export const TAINT_KEY = "bench-op/dedicated";

/**
 * CR i: HostNetwork (the default mode) on the benchmark's own nodes, with
 * ports unique per pod so that any number of pods fit on a node. `base` keeps
 * the floor's ports apart from the operator's.
 */
export function crFor(
  run: string,
  replicas: number,
  i: number,
  namespace: string,
  base: number,
): MattermostRTCD {
  return {
    apiVersion: "rtcd.mattermost.com/v1alpha1",
    kind: "MattermostRTCD",
    metadata: { name: `rtcd-${i}`, namespace, labels: { [RUN_LABEL]: run } },
    spec: {
      replicas,
      apiPort: base + 2 * i,
      rtcPort: base + 2 * i + 1,
      nodeSelector: { [RUN_LABEL]: run },
      tolerations: [{ key: TAINT_KEY, operator: "Exists", effect: "NoSchedule" }],
    },
  } as MattermostRTCD;
}

export function typeOf(obj: KubernetesObject): ResourceType {
  const t = ownedTypes.find((t) => apiVersionOf(t) === obj.apiVersion && t.kind === obj.kind);
  if (!t) throw new Error(`no owned type for ${obj.apiVersion} ${obj.kind}`);
  return t;
}

/** Exactly what the operator writes for one CR, minus owner references: the render plus the admin Secret. */
export function floorObjects(cr: MattermostRTCD): KubernetesObject[] {
  const { objects } = render(applyDefaults(structuredClone(cr)), { serviceMonitorAvailable: false });
  const ns = cr.metadata!.namespace!;
  const labels: Record<string, string> = {};
  for (const part of instanceSelector(cr.metadata!.name!).split(",")) {
    const [k, v] = part.split("=");
    labels[k!] = v!;
  }
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `${cr.metadata!.name}-admin`,
      namespace: ns,
      labels: { ...labels, "app.kubernetes.io/managed-by": "mattermost-rtcd-operator" },
    },
    type: "Opaque",
    data: { ADMIN_SECRET_KEY: Buffer.from(randomBytes(32).toString("base64url")).toString("base64") },
  } as KubernetesObject;
  return [secret, ...objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns } }))];
}

export function nodeManifest(run: string, name: string, zone: string): KubernetesObject {
  return kwokNode({
    name,
    zone,
    labels: { [OWNER_LABEL]: "operator-bench", [RUN_LABEL]: run },
    taints: [{ key: TAINT_KEY, value: run, effect: "NoSchedule" }],
    // Room for every benchmark pod on three nodes (see docs/benchmarks.md).
    resources: { cpu: "10000", memory: "40000Gi", pods: "5000" },
  });
}
