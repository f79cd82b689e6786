// Desired state of one MattermostRTCD, computed offline: no cluster reads, no
// owner references (the reconciler adds them), the same output for the same
// input. `rtcd-operator render` prints exactly this.
import { createHash } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  applyDefaults,
  DEFAULT_REPLICAS,
  type DefaultedMattermostRTCD,
  type MattermostRTCD,
} from "../api/index.ts";
import { ENV, checksum, configData, configMap } from "./config.ts";
import { mediaWorkers } from "./media-ports.ts";
import { podTemplate } from "./pod.ts";
import { podDisruptionBudget, serviceAccount, serviceMonitor } from "./policy.ts";
import { apiService, rtcService } from "./services.ts";
import { workload } from "./workload.ts";
import { sortKeys } from "./names.ts";

export { instanceSelector, endpoint, labels, selectorLabels } from "./names.ts";
export { mediaPortsStatus } from "./media-ports.ts";
export { adminSecretName, generatedAdminSecretRequired, referencedSecrets } from "./secrets.ts";
export type { SecretReference } from "./secrets.ts";

/** The types render produces (the controller watches and prunes the same list). */
export { ownedTypes } from "../api/resources.ts";

/**
 * Hash of everything we ask for in an object. The reconciler compares desired
 * and live as a subset (so server defaults never count as drift); a field we
 * stop asking for is not a difference to a subset test, but it changes this
 * annotation, so the object is applied and server-side apply drops the field.
 */
export const RENDER_HASH_ANNOTATION = "rtcd.mattermost.com/render-hash";

export interface RenderOptions {
  serviceMonitorAvailable: boolean;
  /** From the reconciler, which reads the Secrets; offline renders have none. */
  secretsChecksum?: string;
  /** The autoscaler's replicas for an autoscaled Deployment (spec.replicas is then unset). */
  replicas?: number;
}

export interface RenderResult {
  objects: KubernetesObject[];
  warnings: string[];
}

export function render(input: MattermostRTCD, opts: RenderOptions): RenderResult {
  // A private, fully defaulted copy: rendering never changes the caller's object.
  const cr = applyDefaults(structuredClone(input));
  const warnings: string[] = [];
  const data = configData(cr);
  const template = podTemplate(cr, data, { config: checksum(data), secrets: opts.secretsChecksum }, warnings);
  const objects = [
    serviceAccount(cr),
    configMap(cr, data),
    apiService(cr),
    rtcService(cr),
    workload(cr, template, opts.replicas),
    podDisruptionBudget(cr),
    serviceMonitor(cr, opts.serviceMonitorAvailable, warnings),
  ]
    .filter((o): o is KubernetesObject => o !== undefined)
    .map((o) => withRenderHash(prune(o) as KubernetesObject));
  warnings.push(...networkingWarnings(cr));
  return { objects, warnings };
}

function networkingWarnings(cr: DefaultedMattermostRTCD): string[] {
  const s = cr.spec;
  const mode = s.networking.mode;
  const out: string[] = [];
  if (mode === "LoadBalancer") {
    const many = s.deploymentType === "DaemonSet" || (s.replicas ?? DEFAULT_REPLICAS) > 1;
    if (many) {
      out.push(
        "spec.networking.mode: a LoadBalancer spreads media over all pods, but a call lives on one pod; use 1 replica (or HostNetwork/NodePort)",
      );
    }
    if (!s.rtcd.iceHostOverride) {
      out.push(
        "spec.rtcd.iceHostOverride: unset with a LoadBalancer; set it to the load balancer's address so that clients send media there",
      );
    }
  }
  // containerEnv reports only names the operator sets; these two decide the
  // ports the operator opens, whatever their value.
  const env = new Set((s.env ?? []).map((e) => e.name));
  if (env.has(ENV.mediaWorkers)) {
    out.push(
      `spec.env: ${ENV.mediaWorkers} is set; use spec.rtcd.mediaWorkers instead, which also opens each worker's port (spec.env wins, and workers beyond spec.rtcd.mediaWorkers are unreachable)`,
    );
  }
  if (env.has(ENV.hostPortOverride) && mediaWorkers(cr) > 1) {
    out.push(
      `spec.env: ${ENV.hostPortOverride} advertises one port for every worker, but each of the ${mediaWorkers(cr)} workers has its own port`,
    );
  }
  if (mode === "NodePort" && !s.rtcd.iceHostOverride && !s.rtcd.iceServers?.length) {
    out.push(
      "spec.rtcd.iceHostOverride: unset and no STUN server; clients will be given pod addresses they cannot reach",
    );
  }
  return out;
}

function withRenderHash(o: KubernetesObject): KubernetesObject {
  const hash = createHash("sha256").update(JSON.stringify(o)).digest("hex").slice(0, 16);
  const md = o.metadata!;
  return {
    ...o,
    metadata: { ...md, annotations: sortKeys({ ...md.annotations, [RENDER_HASH_ANNOTATION]: hash }) },
  };
}

/** Drops undefined values, so that output and hashes depend only on what is set. */
function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prune);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) if (val !== undefined) out[k] = prune(val);
  return out;
}
