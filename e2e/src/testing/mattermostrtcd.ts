// MattermostRTCD resources in operator integration and e2e tests: a manifest
// to apply, typed readers, and waits on the conditions users watch (Ready for
// the current generation, or any condition/reason).
import type { MattermostRTCD } from "@mattermost-rtcd/operator/api";
import { getJson, tryKubectl } from "./kube.ts";
import { waitFor } from "./wait.ts";

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; controller?: boolean }[];
  };
  spec?: Record<string, unknown> & {
    template?: { metadata?: { annotations?: Record<string, string> }; spec?: Record<string, unknown> };
  };
  status?: Record<string, unknown>;
  data?: Record<string, string>;
}

export function cr(name: string, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: "rtcd.mattermost.com/v1alpha1",
    kind: "MattermostRTCD",
    metadata: { name },
    spec,
  });
}

export async function getOrUndefined<T = Obj>(
  ns: string,
  kind: string,
  name: string,
): Promise<T | undefined> {
  const r = await tryKubectl(["get", "-n", ns, kind, name, "-o", "json"]);
  if (!r.ok) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(r.stderr);
  }
  return JSON.parse(r.stdout) as T;
}

export function condition(obj: MattermostRTCD | undefined, type: string) {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Ready=True for the CR's current generation. */
export function waitReady(ns: string, name: string, timeoutMs = 90_000): Promise<MattermostRTCD> {
  return waitFor(
    async () => {
      const o = await getOrUndefined<MattermostRTCD>(ns, "mattermostrtcd", name);
      const ready = condition(o, "Ready");
      return o && ready?.status === "True" && o.status?.observedGeneration === o.metadata?.generation
        ? o
        : undefined;
    },
    { timeoutMs, what: `MattermostRTCD ${ns}/${name} to be Ready` },
  );
}

export function waitCondition(
  ns: string,
  name: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 60_000,
  messageIncludes?: string,
): Promise<MattermostRTCD> {
  return waitFor(
    async () => {
      const o = await getOrUndefined<MattermostRTCD>(ns, "mattermostrtcd", name);
      const c = condition(o, type);
      return c?.status === status &&
        (reason === undefined || c.reason === reason) &&
        (messageIncludes === undefined || !!c.message?.includes(messageIncludes))
        ? o
        : undefined;
    },
    {
      timeoutMs,
      what: `${type}=${status}${reason ? ` (${reason})` : ""}${messageIncludes ? ` saying "${messageIncludes}"` : ""} on ${ns}/${name}`,
    },
  );
}

/** The pods of an instance (a chart release or a MattermostRTCD: both label them by instance name). */
export async function instancePods<P = Obj>(ns: string, instance: string): Promise<P[]> {
  const list = await getJson<{ items: P[] }>([
    "get",
    "pods",
    "-n",
    ns,
    "-l",
    `app.kubernetes.io/instance=${instance}`,
  ]);
  return list.items;
}

/** Every object in the namespace that carries this instance's label. */
export async function instanceObjects(ns: string, name: string): Promise<Obj[]> {
  const list = await getJson<{ items: Obj[] }>([
    "get",
    "-n",
    ns,
    "deployments,daemonsets,services,configmaps,secrets,serviceaccounts,poddisruptionbudgets",
    "-l",
    `app.kubernetes.io/instance=${name},app.kubernetes.io/managed-by=mattermost-rtcd-operator`,
  ]);
  return list.items;
}
