// Parity between the chart's two paths: direct mode's objects (helm template)
// and what the operator renders (`rtcd-operator render`) for the
// MattermostRTCD the chart makes from the same values. Both sides are reduced
// to what reaches the cluster's behaviour: the pod template, the Services
// (by role, not name) and the PDB, with release bookkeeping (chart labels,
// checksums) and generated names normalised.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { KEYS, type Kind } from "@mattermost-rtcd/rtcd/config/schema";
import { repoRoot } from "./paths.ts";
import type { K8sObject } from "./render.ts";

/** `rtcd-operator render -f -` for one MattermostRTCD. */
export function operatorRender(cr: K8sObject, namespace: string): K8sObject[] {
  const out = execFileSync(
    process.execPath,
    [join(repoRoot, "operator/src/cli/main.ts"), "render", "-f", "-", "-n", namespace],
    { input: stringify(cr), encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] },
  );
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests are untyped JSON
type Json = any;

const WORKLOAD_KINDS = ["Deployment", "DaemonSet", "StatefulSet"];

// Labels and annotations that only say who rendered the object.
const BOOKKEEPING =
  /^(helm\.sh\/|app\.kubernetes\.io\/(managed-by|version|part-of|component|instance)$|checksum\/|rtcd\.mattermost\.com\/)/;

function strip(map: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!map) return undefined;
  const kept = Object.entries(map).filter(([k]) => !BOOKKEEPING.test(k));
  return kept.length ? Object.fromEntries(kept) : undefined;
}

/** The value of each environment variable as the pod sets it, references resolved to "<secret:key>" and the like. */
export function podEnv(container: Json, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  const configMaps = new Map(
    objects
      .filter((o) => o.kind === "ConfigMap")
      .map((o) => [o.metadata.name, o["data"] as Record<string, string>]),
  );
  for (const from of container.envFrom ?? []) {
    const data = from.configMapRef ? configMaps.get(from.configMapRef.name) : undefined;
    if (!data) throw new Error(`envFrom ${JSON.stringify(from)} names no rendered ConfigMap`);
    for (const [k, v] of Object.entries(data)) env[(from.prefix ?? "") + k] = v;
  }
  for (const e of container.env ?? []) {
    const cm = e.valueFrom?.configMapKeyRef;
    const secret = e.valueFrom?.secretKeyRef;
    if (cm && configMaps.get(cm.name)?.[cm.key] !== undefined)
      env[e.name] = configMaps.get(cm.name)![cm.key]!;
    else if (secret) env[e.name] = `<secret:${secret.key}>`;
    else if (e.valueFrom) env[e.name] = `<${Object.keys(e.valueFrom)[0]}>`;
    else env[e.name] = e.value ?? "";
  }
  return env;
}

function canonical(kind: Kind | undefined, name: string, value: string): string {
  if (value.startsWith("<")) return value;
  switch (kind) {
    case "bool": {
      const v = value.trim().toLowerCase();
      if (["1", "t", "true"].includes(v)) return "true";
      if (["0", "f", "false"].includes(v)) return "false";
      return value;
    }
    case "int":
    case "uint16":
      return /^\s*-?\d+\s*$/.test(value) ? String(Number(value)) : value;
    case "iceServers":
      try {
        return JSON.stringify(JSON.parse(value || "[]"));
      } catch {
        return value;
      }
    default:
      return name.endsWith("LEVEL") ? value.toUpperCase() : value;
  }
}

/**
 * rtcd's configuration as the container's environment makes it: every key of
 * rtcd's own schema at its default unless a variable sets it, so that "unset"
 * and "set to the default" compare equal. Variables rtcd does not know stay
 * as they are.
 */
export function effectiveConfig(container: Json, objects: K8sObject[]): Record<string, string> {
  const kinds = new Map(KEYS.map((k) => [k.env, k.kind]));
  const out: Record<string, string> = {};
  for (const k of KEYS) {
    const d = k.default();
    out[k.env] = canonical(k.kind, k.env, typeof d === "string" ? d : JSON.stringify(d));
  }
  for (const [name, value] of Object.entries(podEnv(container, objects))) {
    out[name] = canonical(kinds.get(name), name, value);
  }
  return out;
}

export interface Normalised {
  workload: Json;
  services: Record<string, Json>;
  pdb: Json;
}

function serviceRole(svc: Json): string {
  const headless = svc.spec?.clusterIP === "None";
  const ports = (svc.spec?.ports ?? []).map((p: Json) => p.name).sort();
  if (headless && ports.includes("api")) return "discovery";
  if (ports.some((p: string) => p.startsWith("rtc"))) return "media";
  return `other:${svc.metadata.name}`;
}

/** Both sides, reduced to what must agree. `name` is the object name both use (the release's full name). */
export function normalise(objects: K8sObject[], name: string): Normalised {
  const workloads = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind));
  if (workloads.length !== 1) {
    throw new Error(
      `expected one workload, got ${workloads.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`,
    );
  }
  const w = structuredClone(workloads[0]!) as Json;
  const pod = w.spec.template;
  const c = pod.spec.containers[0];
  const rename = (s: string) => s.split(name).join("<name>");
  const workload = {
    kind: w.kind,
    replicas: w.spec.replicas,
    progressDeadlineSeconds: w.spec.progressDeadlineSeconds,
    strategy: w.spec.strategy ?? w.spec.updateStrategy,
    podLabels: strip(pod.metadata?.labels),
    podAnnotations: strip(pod.metadata?.annotations),
    pod: {
      ...pod.spec,
      serviceAccountName: pod.spec.serviceAccountName && rename(pod.spec.serviceAccountName),
      containers: undefined,
      volumes: pod.spec.volumes,
    },
    container: {
      ...c,
      name: undefined,
      env: effectiveConfig(c, objects),
      envFrom: undefined,
    },
  };
  const services: Record<string, Json> = {};
  for (const s of objects.filter((o) => o.kind === "Service")) {
    const svc = s as Json;
    const role = serviceRole(svc);
    // The discovery Service matters for its API port (the plugin resolves
    // it); the media Service for its RTC ports. Direct mode's headless
    // Service also lists the RTC ports, as the official chart's did.
    const ports = (svc.spec.ports as Json[]).filter((p) =>
      role === "discovery" ? p.name === "api" : role === "media" ? String(p.name).startsWith("rtc") : true,
    );
    services[role] = {
      type: svc.spec.type ?? "ClusterIP",
      clusterIP: svc.spec.clusterIP,
      externalTrafficPolicy: svc.spec.externalTrafficPolicy,
      publishNotReadyAddresses: svc.spec.publishNotReadyAddresses ?? false,
      ports,
      annotations: role === "media" ? strip(svc.metadata.annotations) : undefined,
    };
  }
  const pdb = objects.find((o) => o.kind === "PodDisruptionBudget") as Json;
  return {
    workload: JSON.parse(JSON.stringify(workload)) as Json,
    services,
    pdb: pdb ? { maxUnavailable: pdb.spec.maxUnavailable, minAvailable: pdb.spec.minAvailable } : undefined,
  };
}
