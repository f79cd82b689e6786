// Wakes the MattermostRTCDs that reference a Secret when that Secret is
// created, changed or deleted, so that a CR waiting for its TURN secret turns
// Ready at once (not on its retry backoff) and a rotated value rolls the pods.
//
// Users' Secrets carry no label we could select on, so this watches every
// Secret in scope, but only their metadata (the API server's
// PartialObjectMetadata form) and without a cache: values never reach this
// process through it, and memory does not grow with the cluster's Secrets.
import { Watch, type KubeConfig, type RequestContext } from "@kubernetes/client-node";
import type { KubeClient } from "./kube-client.ts";
import { resourcePath } from "./kube-client.ts";
import { RESOURCES } from "../api/resources.ts";
import { errorMessage } from "../util/errors.ts";
import { Backoff, monotonicClock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";

const META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
const META_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

interface MetaEvent {
  type: string;
  object?: {
    metadata?: { namespace?: string; name?: string; resourceVersion?: string };
    code?: number;
  };
}

export class SecretWatch {
  private readonly client: KubeClient;
  private readonly watch: Watch;
  private readonly namespace: string | undefined;
  private readonly log: Logger;
  private readonly onChange: (namespace: string, name: string) => void;
  private readonly onGap: () => void;
  private resourceVersion: string | undefined;
  private stopped = false;
  private abort: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  /**
   * onGap runs when events may have been missed (the watch expired and had
   * to start over): callers re-check everything that might depend on one.
   */
  constructor(
    kc: KubeConfig,
    client: KubeClient,
    namespace: string | undefined,
    log: Logger,
    onChange: (namespace: string, name: string) => void,
    onGap: () => void,
  ) {
    this.client = client;
    this.namespace = namespace;
    this.log = log.child({ watch: "secret-metadata", namespace: namespace ?? "*" });
    this.onChange = onChange;
    this.onGap = onGap;
    // client-node's Watch takes its headers from the KubeConfig: a view of
    // the same config that also asks for metadata only.
    const metaKc = Object.create(kc) as KubeConfig;
    metaKc.applySecurityAuthentication = async (ctx: RequestContext) => {
      await kc.applySecurityAuthentication(ctx);
      ctx.setHeaderParam("Accept", META_WATCH);
    };
    this.watch = new Watch(metaKc);
  }

  start(): void {
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(monotonicClock);
    let first = true;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) {
          this.resourceVersion = await this.currentResourceVersion();
          if (!first) this.onGap();
          first = false;
        }
        await this.watchOnce();
      } catch (err) {
        if (this.stopped) return;
        const delayMs = backoff.next();
        this.log.warn("secret watch failed; retrying", { error: errorMessage(err), retryInMs: delayMs });
        await new Promise((r) => setTimeout(r, delayMs).unref());
      }
    }
  }

  /** A one-item metadata list: all we need is the collection's resourceVersion. */
  private async currentResourceVersion(): Promise<string> {
    const res = await this.client.list(RESOURCES.Secret, this.namespace, { limit: "1" }, META_LIST);
    const rv = res.metadata.resourceVersion;
    if (!rv) throw new Error("secret list returned no resourceVersion");
    return rv;
  }

  private watchOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        this.abort = undefined;
        if (err && !this.stopped) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve();
      };
      this.watch
        .watch(
          resourcePath(RESOURCES.Secret, this.namespace),
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
          (type: string, obj: unknown) => this.handle({ type, object: obj as MetaEvent["object"] }),
          (err: unknown) => {
            // The client aborts quiet watches after 30 s; resuming from the
            // last resourceVersion loses nothing, so that is not an error.
            if (err instanceof Error && err.name === "TimeoutError") finish();
            else finish(err ?? undefined);
          },
        )
        .then((ctl) => {
          if (settled) return;
          this.abort = () => ctl.abort();
          if (this.stopped) ctl.abort();
        }, finish);
    });
  }

  private handle(ev: MetaEvent): void {
    const md = ev.object?.metadata;
    if (ev.type === "ERROR") {
      // 410 Gone: the resourceVersion is too old to resume from; start over.
      if (ev.object?.code === 410) {
        this.resourceVersion = undefined;
        this.abort?.();
      }
      return;
    }
    if (md?.resourceVersion) this.resourceVersion = md.resourceVersion;
    if (ev.type === "BOOKMARK" || !md?.namespace || !md.name) return;
    this.onChange(md.namespace, md.name);
  }
}
