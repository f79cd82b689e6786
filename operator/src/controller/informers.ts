// Informers that keep watching whatever happens. client-node's ListWatch
// relists on 410 Gone by itself, but on any other error (API server restart,
// connection reset, a list that timed out) it reports the error and stops; we
// restart it with exponential backoff. Restarting resumes from the last
// resourceVersion as client-go's reflector does (the server answers 410 when
// that is too old, and then it relists, reporting objects deleted meanwhile),
// so no event is lost. A watch that goes silent is ended by client-node's
// inactivity timeout and resumed the same way.
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient } from "./kube-client.ts";
import type { ResourceType } from "../api/resources.ts";
import { resourcePath } from "./kube-client.ts";
import { errorMessage } from "../util/errors.ts";
import { Backoff, monotonicClock } from "../util/clock.ts";
import { slimForCache } from "./cache-transform.ts";
import type { Logger } from "../util/log.ts";

export type EventHandler<T> = (type: "add" | "update" | "delete", obj: T) => void;

export interface InformerOptions {
  type: ResourceType;
  namespace?: string; // undefined: all namespaces
  labelSelector?: string;
}

/** A Watch whose events carry objects already slimmed for the cache. */
class SlimmingWatch extends Watch {
  private readonly type: ResourceType;
  constructor(kc: KubeConfig, type: ResourceType) {
    super(kc);
    this.type = type;
  }
  override watch(...[path, query, callback, done]: Parameters<Watch["watch"]>): ReturnType<Watch["watch"]> {
    return super.watch(
      path,
      query,
      (phase: string, obj: KubernetesObject, raw: unknown) =>
        callback(phase, phase === "ERROR" || phase === "BOOKMARK" ? obj : slimForCache(this.type, obj), raw),
      done,
    );
  }
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopped = false;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  // "connect" fires before each list/watch attempt, not on success, so it
  // cannot reset the backoff: the delay starts over only after a quiet minute.
  private readonly backoff = new Backoff(monotonicClock);
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  readonly opts: InformerOptions;
  private readonly log: Logger;

  constructor(
    kc: KubeConfig,
    client: KubeClient,
    opts: InformerOptions,
    log: Logger,
    onEvent: EventHandler<T>,
  ) {
    this.opts = opts;
    this.log = log.child({ resource: opts.type.plural, namespace: opts.namespace ?? "*" });
    const path = resourcePath(opts.type, opts.namespace);
    const list = async () => {
      const res = await client.list<T>(opts.type, opts.namespace, { labelSelector: opts.labelSelector });
      // The list response's items carry no apiVersion/kind; handlers want them.
      for (const item of res.items) {
        item.apiVersion ??= opts.type.group ? `${opts.type.group}/${opts.type.version}` : opts.type.version;
        item.kind ??= opts.type.kind;
        slimForCache(opts.type, item);
      }
      return { ...res, metadata: res.metadata ?? {} };
    };
    this.informer = new ListWatch<T>(path, new SlimmingWatch(kc, opts.type), list, false, opts.labelSelector);
    this.informer.on("add", (o) => onEvent("add", o));
    this.informer.on("update", (o) => onEvent("update", o));
    this.informer.on("delete", (o) => onEvent("delete", o));
    this.informer.on("connect", () => {
      if (!this.synced) {
        // "connect" fires before the initial list; the list completes before
        // the watch is opened, which is when the cache is complete.
        setImmediate(() => this.markSynced());
      }
    });
    this.informer.on("error", (err) => this.onError(err));
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer.stop();
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
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  private markSynced(): void {
    if (this.synced) return;
    if (this.informer.latestResourceVersion() === "") {
      setTimeout(() => this.markSynced(), 20).unref();
      return;
    }
    this.synced = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private onError(err: unknown): void {
    if (this.stopped) return;
    const retryInMs = this.backoff.next();
    this.log.warn("watch failed; restarting", { error: errorMessage(err), retryInMs });
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.informer.start().catch((e: unknown) => this.onError(e));
    }, retryInMs);
    this.restartTimer.unref();
  }
}
