// Wakes the MattermostRTCDs that reference a Secret when that Secret is
// created, changed or deleted, so that a CR waiting for its TURN secret turns
// Ready at once (not on its retry backoff) and a rotated value rolls the pods.
//
// Users' Secrets carry no label we could select on, so this watches every
// Secret in scope, but only their metadata (the API server's
// PartialObjectMetadata form) and without a cache: values never reach this
// process through it, and memory does not grow with the cluster's Secrets.
import { KubeApiError, type KubeClient, type WatchEvent } from "./kube-client.ts";
import { SHORT_WATCH_MS } from "./informers.ts";
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
        if (err instanceof KubeApiError && err.status === 410) {
          // Too old to resume from: start over at once, as a 410 event does.
          this.resourceVersion = undefined;
          continue;
        }
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

  private async watchOnce(): Promise<void> {
    // A quiet watch ends after the client's inactivity timeout; resuming
    // from the last resourceVersion loses nothing, so that is no error.
    let events = 0;
    const t0 = performance.now();
    const handle = await this.client.watch<MetaEvent["object"]>(
      RESOURCES.Secret,
      this.namespace,
      { resourceVersion: this.resourceVersion },
      (ev: WatchEvent<MetaEvent["object"]>) => {
        events++;
        this.handle({ type: ev.type, object: ev.object });
      },
      META_WATCH,
    );
    this.abort = () => handle.abort();
    if (this.stopped) handle.abort();
    try {
      await handle.done;
    } finally {
      this.abort = undefined;
    }
    // A watch ended at once with nothing in it meets the backoff (see informers.ts).
    if (!this.stopped && events === 0 && performance.now() - t0 < SHORT_WATCH_MS) {
      throw new Error(`the server ended the watch at once with no event (within ${SHORT_WATCH_MS} ms)`);
    }
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
