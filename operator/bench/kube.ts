// Small cluster helpers for the operator benchmark: the operator's own REST
// client (so the floor pays the same HTTP costs), a list+watch that waits for
// N objects to reach a condition without polling, and a bounded worker pool.
import { HttpMethod, KubeConfig, RequestContext, type KubernetesObject } from "@kubernetes/client-node";
import { fetch } from "undici";
import { KubeClient, resourcePath, type ListResult } from "../src/controller/kube-client.ts";
import { KubeAccess } from "../src/kube/access.ts";
import { RESOURCES, type ResourceType } from "../src/api/resources.ts";

export const NAMESPACE: ResourceType = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
  namespaced: false,
};
export const NODE: ResourceType = {
  group: "",
  version: "v1",
  plural: "nodes",
  kind: "Node",
  namespaced: false,
};
export const DEPLOYMENT: ResourceType = RESOURCES.Deployment;
export const CR: ResourceType = RESOURCES.MattermostRTCD;

export function loadClient(kubeconfig: string): { kc: KubeConfig; client: KubeClient } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { kc, client: new KubeClient(KubeAccess.fromFile(kubeconfig)) };
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export interface WaitOptions {
  /** Objects outside the benchmark (another agent's namespaces) are ignored. */
  accept: (o: KubernetesObject) => boolean;
  done: (o: KubernetesObject) => boolean;
  expected: number;
  timeoutMs: number;
  labelSelector?: string;
  onProgress?: (doneCount: number) => void;
}

export interface WaitResult {
  /** Milliseconds since the call when the last object reached `done` (undefined on timeout). */
  allDoneAt?: number;
  doneCount: number;
}

/**
 * Cluster-wide list, then watch from its resourceVersion, until `expected`
 * accepted objects satisfy `done` at the same time. One connection for the
 * whole wait: polling 1,000 CRs would load the API server we are measuring.
 */
export async function waitAll(kc: KubeConfig, t: ResourceType, opts: WaitOptions): Promise<WaitResult> {
  const start = performance.now();
  const deadline = start + opts.timeoutMs;
  const state = new Map<string, boolean>();
  let doneCount = 0;
  let lastReported = -1;
  const key = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  const update = (o: KubernetesObject, deleted = false) => {
    if (!opts.accept(o)) return;
    const k = key(o);
    const was = state.get(k) ?? false;
    const now = !deleted && opts.done(o);
    if (deleted) state.delete(k);
    else state.set(k, now);
    doneCount += Number(now) - Number(was);
    if (doneCount !== lastReported && opts.onProgress) {
      lastReported = doneCount;
      opts.onProgress(doneCount);
    }
  };
  const cluster = kc.getCurrentCluster()!;
  const base = cluster.server.replace(/\/$/, "") + resourcePath(t);
  const get = async (query: Record<string, string>, signal?: AbortSignal) => {
    const url = new URL(base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    if (opts.labelSelector) url.searchParams.set("labelSelector", opts.labelSelector);
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    return fetch(url, {
      headers: { ...ctx.getHeaders(), Accept: "application/json" },
      dispatcher: ctx.getDispatcher(),
      signal,
    });
  };
  let rv: string | undefined;
  while (performance.now() < deadline) {
    if (rv === undefined) {
      state.clear();
      doneCount = 0;
      let cont: string | undefined;
      do {
        const res = await get({ limit: "500", ...(cont ? { continue: cont } : {}) });
        if (!res.ok) throw new Error(`list ${t.plural}: HTTP ${res.status} ${await res.text()}`);
        const list = (await res.json()) as ListResult<KubernetesObject>;
        for (const o of list.items) update(o);
        cont = list.metadata.continue || undefined;
        rv = list.metadata.resourceVersion;
      } while (cont);
    }
    if (doneCount >= opts.expected) return { allDoneAt: performance.now() - start, doneCount };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - performance.now()));
    try {
      const res = await get(
        { watch: "1", resourceVersion: rv!, allowWatchBookmarks: "true", timeoutSeconds: "300" },
        abort.signal,
      );
      if (!res.ok || !res.body) {
        rv = undefined;
        continue;
      }
      let buf = "";
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          const ev = JSON.parse(line) as { type: string; object: KubernetesObject & { code?: number } };
          if (ev.type === "ERROR") {
            rv = undefined; // 410 Gone or similar: list again
            break;
          }
          rv = ev.object.metadata?.resourceVersion ?? rv;
          if (ev.type === "BOOKMARK") continue;
          update(ev.object, ev.type === "DELETED");
          if (doneCount >= opts.expected) {
            abort.abort();
            return { allDoneAt: performance.now() - start, doneCount };
          }
        }
        if (rv === undefined) break;
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    } finally {
      clearTimeout(timer);
    }
  }
  return { doneCount };
}

export function crReady(o: KubernetesObject): boolean {
  const cr = o as KubernetesObject & {
    status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
  };
  const ready = cr.status?.conditions?.find((c) => c.type === "Ready");
  return ready?.status === "True" && cr.status?.observedGeneration === cr.metadata?.generation;
}

/** The operator's own "rolled out" test (status/compute.ts), on a Deployment. */
export function deploymentAvailable(o: KubernetesObject): boolean {
  const d = o as KubernetesObject & {
    spec?: { replicas?: number };
    status?: {
      observedGeneration?: number;
      replicas?: number;
      updatedReplicas?: number;
      availableReplicas?: number;
    };
  };
  const want = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  return (
    (st.observedGeneration ?? -1) >= (d.metadata?.generation ?? 0) &&
    st.replicas === want &&
    st.updatedReplicas === want &&
    st.availableReplicas === want
  );
}

export async function listNames(
  client: KubeClient,
  t: ResourceType,
  labelSelector: string,
): Promise<string[]> {
  const list = await client.list(t, undefined, { labelSelector });
  return list.items.map((o) => o.metadata!.name!);
}

/**
 * The floor's writer: bare create and server-side apply over one reused
 * connection pool. (The operator's KubeClient gets a new dispatcher, so a new
 * TLS connection, per request; see docs/benchmarks.md.)
 */
export async function floorWriter(kc: KubeConfig, fieldManager: string) {
  const server = kc.getCurrentCluster()!.server.replace(/\/$/, "");
  const ctx = new RequestContext(server, HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  const dispatcher = ctx.getDispatcher();
  const headers = ctx.getHeaders();
  const counts = new Map<string, number>();
  const send = async (
    verb: string,
    t: ResourceType,
    method: string,
    path: string,
    obj: unknown,
    type: string,
  ) => {
    const res = await fetch(`${server}${path}`, {
      method,
      headers: { ...headers, Accept: "application/json", "Content-Type": type },
      body: JSON.stringify(obj),
      dispatcher,
    });
    const k = `${verb} ${t.group ? `${t.plural}.${t.group}` : t.plural}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    const text = await res.text();
    if (!res.ok) throw new Error(`${verb} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  };
  const q = `fieldManager=${encodeURIComponent(fieldManager)}`;
  return {
    counts,
    create: (t: ResourceType, o: KubernetesObject) =>
      send("create", t, "POST", `${resourcePath(t, o.metadata!.namespace)}?${q}`, o, "application/json"),
    apply: (t: ResourceType, o: KubernetesObject) =>
      send(
        "apply",
        t,
        "PATCH",
        `${resourcePath(t, o.metadata!.namespace, o.metadata!.name)}?${q}&force=true`,
        o,
        "application/apply-patch+yaml",
      ),
  };
}
