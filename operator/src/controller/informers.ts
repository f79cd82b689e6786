// Informers that keep watching whatever happens, as client-go's reflector
// does: list, then watch from the list's resourceVersion; when a watch ends
// (the server closed it, or it sent nothing for WATCH_INACTIVITY_MS) resume
// from the last resourceVersion seen, with bookmarks keeping that recent on
// quiet collections; on 410 Gone (too old to resume from) list again,
// reporting objects deleted meanwhile. Any other failure (API server
// restart, connection reset, a list that timed out) retries with
// exponential backoff. So no event is lost.
import type { KubernetesObject } from "@kubernetes/client-node";
import { KubeApiError, type KubeClient, type WatchEvent, type WatchHandle } from "./kube-client.ts";
import type { ResourceType } from "../api/resources.ts";
import { errorMessage } from "../util/errors.ts";
import { Backoff, monotonicClock } from "../util/clock.ts";
import { slimForCache } from "./cache-transform.ts";
import type { Gate } from "../util/gate.ts";
import type { Logger } from "../util/log.ts";

/** A watch that ends sooner than this with no event counts as a failure. */
export const SHORT_WATCH_MS = 1000;

export type EventHandler<T> = (type: "add" | "update" | "delete", obj: T) => void;

export interface InformerOptions {
  type: ResourceType;
  namespace?: string; // undefined: all namespaces
  labelSelector?: string;
  /**
   * Shared by the informers of one process: how many lists may be in flight
   * at once. A list is the operator's largest transient allocation (the
   * response text, then every object whole, managedFields included, until
   * slimmed), and at start every informer lists.
   */
  listGate?: Gate;
}

/** The objects of one collection by namespace, then name. */
class ObjectCache<T extends KubernetesObject> {
  private objects = new Map<string, Map<string, T>>();

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace ?? "")?.get(name);
  }

  list(namespace?: string): T[] {
    if (namespace) return [...(this.objects.get(namespace)?.values() ?? [])];
    return [...this.objects.values()].flatMap((m) => [...m.values()]);
  }

  /** "add", "update", or undefined when the cache already holds this resourceVersion. */
  put(obj: T): "add" | "update" | undefined {
    const ns = obj.metadata?.namespace ?? "";
    const name = obj.metadata?.name ?? "";
    let m = this.objects.get(ns);
    if (!m) this.objects.set(ns, (m = new Map()));
    const old = m.get(name);
    const rv = obj.metadata?.resourceVersion;
    if (old && rv !== undefined && old.metadata?.resourceVersion === rv) return undefined;
    m.set(name, obj);
    return old ? "update" : "add";
  }

  remove(obj: T): boolean {
    const ns = obj.metadata?.namespace ?? "";
    const m = this.objects.get(ns);
    if (!m?.delete(obj.metadata?.name ?? "")) return false;
    if (m.size === 0) this.objects.delete(ns);
    return true;
  }

  /** Replaces the contents with a full list; returns what the list no longer holds. */
  replace(items: readonly T[]): T[] {
    const kept = new Set(items.map((o) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`));
    const gone = this.list().filter(
      (o) => !kept.has(`${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`),
    );
    for (const o of gone) this.remove(o);
    return gone;
  }
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly cache = new ObjectCache<T>();
  private readonly client: KubeClient;
  private readonly onEvent: EventHandler<T>;
  private resourceVersion = "";
  private stopped = true;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  // The delay starts over only after a quiet minute, not after one
  // successful request: a watch that opens and fails at once is no success.
  private readonly backoff = new Backoff(monotonicClock);
  private watch: WatchHandle | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  readonly opts: InformerOptions;
  private readonly log: Logger;

  constructor(client: KubeClient, opts: InformerOptions, log: Logger, onEvent: EventHandler<T>) {
    this.client = client;
    this.opts = opts;
    this.onEvent = onEvent;
    this.log = log.child({ resource: opts.type.plural, namespace: opts.namespace ?? "*" });
  }

  /** Starts listing and watching; waitForSync() says when the cache is complete. */
  start(): Promise<void> {
    if (!this.stopped) return Promise.resolve();
    this.stopped = false;
    this.loop = this.run();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.abort();
    this.wake?.();
    await this.loop;
  }

  /** Resolves once the initial list has been delivered to the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  hasSynced(): boolean {
    return this.synced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.cache.list(namespace);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        if (this.stopped) return;
        await this.watchOnce();
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof KubeApiError && err.status === 410) {
          this.resourceVersion = "";
          continue;
        }
        const retryInMs = this.backoff.next();
        this.log.warn("watch failed; restarting", { error: errorMessage(err), retryInMs });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, retryInMs);
          t.unref();
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private async relist(): Promise<void> {
    const { type, namespace, labelSelector, listGate } = this.opts;
    const apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
    const list = async () => {
      const res = await this.client.list<T>(type, namespace, { labelSelector });
      // Slimmed inside the gate, so the next list starts once this one's
      // full objects are garbage.
      for (const item of res.items) {
        // The list response's items carry no apiVersion/kind; handlers want them.
        item.apiVersion ??= apiVersion;
        item.kind ??= type.kind;
        slimForCache(type, item);
      }
      return res;
    };
    const res = listGate ? await listGate.run(list) : await list();
    if (this.stopped) return;
    for (const gone of this.cache.replace(res.items)) this.onEvent("delete", gone);
    for (const item of res.items) {
      const change = this.cache.put(item);
      if (change) this.onEvent(change, item);
    }
    this.resourceVersion = res.metadata.resourceVersion ?? "";
    if (!this.resourceVersion) throw new Error(`list of ${type.plural} returned no resourceVersion`);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watchOnce(): Promise<void> {
    let failure: Error | undefined;
    let events = 0;
    const t0 = performance.now();
    const handle = await this.client.watch<T>(
      this.opts.type,
      this.opts.namespace,
      { resourceVersion: this.resourceVersion, labelSelector: this.opts.labelSelector },
      (ev) => {
        events++;
        failure ??= this.handle(ev);
        if (failure) handle.abort();
      },
    );
    this.watch = handle;
    if (this.stopped) handle.abort();
    try {
      await handle.done;
    } finally {
      this.watch = undefined;
    }
    if (failure) throw failure;
    // As client-go's reflector: a server that ends every watch at once,
    // with nothing in it, must meet the backoff, not a loop of requests.
    if (!this.stopped && events === 0 && performance.now() - t0 < SHORT_WATCH_MS) {
      throw new Error(`the server ended the watch at once with no event (within ${SHORT_WATCH_MS} ms)`);
    }
  }

  /** Applies one event; an ERROR event comes back as the error that ends the watch. */
  private handle(ev: WatchEvent<T>): Error | undefined {
    if (ev.type === "ERROR") {
      const s = ev.object as { code?: number; reason?: string; message?: string };
      return new KubeApiError(s.code ?? 500, s.reason ?? "Error", s.message ?? "watch error event");
    }
    const obj = ev.object;
    const rv = obj.metadata?.resourceVersion;
    if (ev.type === "BOOKMARK") {
      if (rv) this.resourceVersion = rv;
      return undefined;
    }
    slimForCache(this.opts.type, obj);
    if (ev.type === "DELETED") {
      if (this.cache.remove(obj)) this.onEvent("delete", obj);
    } else {
      const change = this.cache.put(obj);
      if (change) this.onEvent(change, obj);
    }
    if (rv) this.resourceVersion = rv;
    return undefined;
  }
}
