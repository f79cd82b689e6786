// Wires informers, the work queue, workers, leader election, metrics and
// probes into a running operator. Only the leader reconciles; a standby keeps
// its caches warm so that it can take over at once.
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import type { KubeAccess } from "../kube/access.ts";
import type { MattermostRTCD } from "../api/index.ts";
import { adminSecretName, referencedSecrets } from "../render/index.ts";
import { KubeClient } from "./kube-client.ts";
import { RESOURCES, apiVersionOf, ownedTypes, type ResourceType } from "../api/resources.ts";
import { Gate } from "../util/gate.ts";
import { ResilientInformer } from "./informers.ts";
import { errorMessage } from "../util/errors.ts";
import { WorkQueue, RateLimiter, realClock, type RateLimiterOptions } from "./workqueue.ts";
import { MANAGED_BY_SELECTOR, Reconciler, type Caches } from "./reconciler.ts";
import { EventRecorder, type EventType } from "./events.ts";
import { LeaderElector } from "./leader.ts";
import { SecretWatch } from "./secret-watch.ts";
import type { PodAddress } from "./registration.ts";
import { mattermostSecretsOf } from "../render/mattermost-secret.ts";
import { createMetrics, type OperatorMetrics } from "./metrics.ts";
import type { Logger } from "../util/log.ts";
import { Autoscaler } from "../autoscale/autoscaler.ts";
import { Sampler, type TargetResolver } from "../autoscale/sampler.ts";
import { MediaProber } from "../probe/prober.ts";
import { PodEventWatcher } from "../probe/pod-events.ts";
import { PodHttp } from "../util/pod-http.ts";
import { podIPAddress } from "./registration.ts";

const CONTROLLER = "mattermostrtcd";
const INSTANCE_LABEL = "app.kubernetes.io/instance";

export interface ManagerOptions {
  namespaces: string[]; // empty: all namespaces
  maxConcurrentReconciles: number;
  leaderElection?: {
    namespace: string;
    name: string;
    identity?: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  resyncPeriodMs: number;
  rateLimiter?: RateLimiterOptions;
  clusterDomain?: string;
  /** Where the registrar reaches each pod's rtcd (default: the pod IP). */
  podAddress?: PodAddress;
  /** How often autoscaled instances are sampled and reconciled (default 15 s). */
  autoscaleIntervalMs?: number;
  /** Where to reach a pod's rtcd API (default: its pod IP and spec.apiPort). */
  rtcdTarget?: TargetResolver;
}

/**
 * Lists in flight at once at start or relist. Each informer lists once at
 * start (10 namespaces: 90 lists), and a list is held whole, twice (text,
 * then objects, managedFields and all) until slimmed. An operator restarted
 * on 1000 instances peaked at 226-237 MiB with every list at once, 193-209
 * MiB with 4, in the same time to reconcile them all (one at a time: 206
 * MiB, 60 % slower).
 */
const LIST_CONCURRENCY = 4;

export class Manager {
  readonly client: KubeClient;
  readonly metrics: OperatorMetrics;
  readonly queue: WorkQueue;
  private readonly opts: ManagerOptions;
  private readonly log: Logger;
  private readonly crInformers: ResilientInformer<MattermostRTCD>[] = [];
  private readonly owned = new Map<string, ResilientInformer<KubernetesObject>[]>();
  private readonly types: ResourceType[] = [];
  private readonly secretWatches: SecretWatch[] = [];
  private readonly podInformers: ResilientInformer<V1Pod>[] = [];
  // Lists in flight at once, over all informers (informers.ts, listGate).
  private readonly listGate = new Gate(LIST_CONCURRENCY);
  private reconciler!: Reconciler;
  private elector: LeaderElector | undefined;
  private leading = false;
  private stopping = false;
  private workers: Promise<void>[] = [];
  private resyncTimer: ReturnType<typeof setInterval> | undefined;
  private smAvailable = false;
  private discovering = false;

  constructor(access: KubeAccess, opts: ManagerOptions, log: Logger) {
    this.opts = opts;
    this.log = log;
    this.client = new KubeClient(access);
    this.metrics = createMetrics();
    this.client.onRequest((verb, resource, code) => {
      this.metrics.apiRequests.inc({ verb, resource, code: String(code) });
    });
    const m = this.metrics;
    this.queue = new WorkQueue(new RateLimiter(opts.rateLimiter, realClock), realClock, {
      added: () => m.queueAdds.inc({ name: CONTROLLER }),
      depth: (n) => m.queueDepth.set({ name: CONTROLLER }, n),
      waited: (_k, ms) => m.queueLatency.observe({ name: CONTROLLER }, ms / 1000),
      retried: () => m.queueRetries.inc({ name: CONTROLLER }),
    });
  }

  /** Healthy while the process runs its loops; ready once caches are synced. */
  healthy(): boolean {
    return !this.stopping;
  }
  ready(): boolean {
    return !this.stopping && this.allInformers().every((i) => i.hasSynced());
  }

  async start(): Promise<void> {
    this.smAvailable = await this.discoverServiceMonitor();
    for (const t of ownedTypes) {
      if (t.optional && !this.smAvailable) continue;
      this.types.push(t);
    }
    for (const ns of this.watchedNamespaces()) {
      const cri = new ResilientInformer<MattermostRTCD>(
        this.client,
        { type: RESOURCES.MattermostRTCD, namespace: ns, listGate: this.listGate },
        this.log,
        (_t, o) => this.enqueue(o.metadata?.namespace, o.metadata?.name),
      );
      this.crInformers.push(cri);
      for (const type of this.types) this.addOwned(type, this.ownedInformer(type, ns));
      // Pods feed status (why a rollout waits) and the autoscaler; the only
      // write to them is the deletion-cost annotation before a scale-in.
      this.podInformers.push(
        new ResilientInformer<V1Pod>(
          this.client,
          {
            type: RESOURCES.Pod,
            namespace: ns,
            labelSelector: MANAGED_BY_SELECTOR,
            listGate: this.listGate,
          },
          this.log,
          (_t, p) => this.enqueue(p.metadata?.namespace, p.metadata?.labels?.[INSTANCE_LABEL]),
        ),
      );
      this.secretWatches.push(
        new SecretWatch(
          this.client,
          ns,
          this.log,
          (sns, name) => this.enqueueSecretUsers(sns, name),
          () => this.resyncAll(),
        ),
      );
    }
    const all = this.allInformers();
    await Promise.all(all.map((i) => i.start()));
    await Promise.all(all.map((i) => i.waitForSync()));
    this.log.info("caches synced", {
      informers: all.length,
      namespaces: this.opts.namespaces.length ? this.opts.namespaces : "all",
    });

    for (const w of this.secretWatches) w.start();

    const events = new EventRecorder(this.client, "mattermost-rtcd-operator", this.log);
    // One bound on the pods' endpoints read at once, for the autoscaler and
    // the pod-event watcher together.
    const podHttp = new PodHttp();
    const autoscaler = new Autoscaler({
      sampler: new Sampler({ resolve: this.opts.rtcdTarget, http: podHttp }),
      intervalMs: this.opts.autoscaleIntervalMs ?? 15_000,
      onSampled: (ns, name) => this.enqueue(ns, name),
      log: this.log,
      metrics: this.metrics.autoscaler,
    });
    const crs = this.caches();
    const onEvent = (ns: string, name: string, e: { type: EventType; reason: string; message: string }) => {
      const cr = crs.getCR(ns, name);
      if (cr) events.record(cr, e.type, e.reason, e.message);
    };
    const prober = new MediaProber({
      resolve: this.opts.podAddress ?? podIPAddress,
      onResult: (ns, name) => this.enqueue(ns, name),
      onEvent,
      metrics: this.metrics.mediaProbe,
      log: this.log,
    });
    this.reconciler = new Reconciler(this.client, crs, events, this.log, {
      clusterDomain: this.opts.clusterDomain,
      podAddress: this.opts.podAddress,
      autoscaler,
      prober,
      podEvents: new PodEventWatcher({
        resolve: this.opts.podAddress ?? podIPAddress,
        http: podHttp,
        onEvent,
        log: this.log,
      }),
    });

    if (this.opts.leaderElection) {
      this.elector = new LeaderElector(this.client, this.opts.leaderElection, this.log);
      this.metrics.leader.set({ name: this.opts.leaderElection.name }, 0);
      this.elector.run(
        () => this.startLeading(),
        () => {
          // A controller that lost its lease must not act on stale beliefs.
          // Stop taking work at once, then exit rather than re-campaign: the
          // workers, queue and caches of this term would have to be drained
          // and reset to lead again safely, while a restarted pod starts
          // clean, and the standby (caches warm) already holds the lease.
          this.leading = false;
          this.queue.shutdown();
          this.metrics.leader.set({ name: this.opts.leaderElection!.name }, 0);
          this.log.error("leadership lost; exiting");
          process.exit(1);
        },
      );
    } else {
      this.startLeading();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.queue.shutdown();
    await Promise.all(this.workers);
    await this.elector?.release();
    await Promise.all(this.secretWatches.map((w) => w.stop()));
    await Promise.all(this.allInformers().map((i) => i.stop()));
  }

  private startLeading(): void {
    this.leading = true;
    if (this.opts.leaderElection) this.metrics.leader.set({ name: this.opts.leaderElection.name }, 1);
    this.resyncAll();
    if (this.opts.resyncPeriodMs > 0) {
      this.resyncTimer = setInterval(() => {
        this.resyncAll();
        void this.rediscover();
      }, this.opts.resyncPeriodMs);
      this.resyncTimer.unref();
    }
    for (let i = 0; i < this.opts.maxConcurrentReconciles; i++) this.workers.push(this.worker());
  }

  /** Enqueues every known CR (startup and periodic resync). */
  resyncAll(): void {
    for (const inf of this.crInformers)
      for (const cr of inf.list()) this.enqueue(cr.metadata?.namespace, cr.metadata?.name);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const [ns, name] = key.split("/") as [string, string];
      const end = this.metrics.reconcileTime.startTimer({ controller: CONTROLLER });
      try {
        const res = await this.reconciler.reconcile(ns, name);
        if (res.retry) {
          this.metrics.reconcileTotal.inc({ controller: CONTROLLER, result: "requeue" });
          this.queue.addRateLimited(key);
        } else {
          this.metrics.reconcileTotal.inc({ controller: CONTROLLER, result: "success" });
          this.queue.forget(key);
          // Autoscaled instances only: their load changes without any event.
          if (res.requeueAfterMs) this.queue.addAfter(key, res.requeueAfterMs);
        }
      } catch (err) {
        this.metrics.reconcileTotal.inc({ controller: CONTROLLER, result: "error" });
        this.metrics.reconcileErrors.inc({ controller: CONTROLLER });
        this.log.error("reconcile failed", { namespace: ns, name, error: errorMessage(err) });
        this.queue.addRateLimited(key);
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  private enqueue(ns: string | undefined, name: string | undefined): void {
    if (!ns || !name || !this.leading) return;
    this.queue.add(`${ns}/${name}`);
  }

  private enqueueOwner(obj: KubernetesObject): void {
    const ref = obj.metadata?.ownerReferences?.find(
      (r) => r.controller && r.kind === RESOURCES.MattermostRTCD.kind,
    );
    if (ref) this.enqueue(obj.metadata?.namespace, ref.name);
  }

  /** The CRs whose pods read this Secret (the generated admin Secret included). */
  private enqueueSecretUsers(namespace: string, secret: string): void {
    for (const inf of this.crInformers) {
      for (const cr of inf.list(namespace)) {
        const uses =
          adminSecretName(cr) === secret ||
          referencedSecrets(cr).some((r) => r.name === secret) ||
          mattermostSecretsOf(cr).includes(secret);
        if (uses) this.enqueue(namespace, cr.metadata?.name);
      }
    }
  }

  private allInformers(): ResilientInformer<KubernetesObject>[] {
    return [
      ...this.crInformers,
      ...this.podInformers,
      ...[...this.owned.values()].flat(),
    ] as ResilientInformer<KubernetesObject>[];
  }

  private caches(): Caches {
    const informersFor = (t: ResourceType) => this.owned.get(typeKey(t)) ?? [];
    const crs = this.crInformers;
    return {
      getCR: (ns, name) => {
        for (const i of crs) {
          const o = i.get(name, ns);
          if (o) return o;
        }
        return undefined;
      },
      listOwned: (t, ns) => informersFor(t).flatMap((i) => i.list(ns)),
      getOwned: (t, ns, name) => {
        for (const i of informersFor(t)) {
          const o = i.get(name, ns);
          if (o) return o;
        }
        return undefined;
      },
      ownedTypes: () => this.types,
      listPods: (ns, instance) =>
        this.podInformers
          .flatMap((i) => i.list(ns))
          .filter((p) => p.metadata?.labels?.[INSTANCE_LABEL] === instance),
      serviceMonitorAvailable: () => this.smAvailable,
    };
  }

  private watchedNamespaces(): (string | undefined)[] {
    return this.opts.namespaces.length ? this.opts.namespaces : [undefined];
  }

  private ownedInformer(type: ResourceType, ns: string | undefined): ResilientInformer<KubernetesObject> {
    return new ResilientInformer<KubernetesObject>(
      this.client,
      { type, namespace: ns, labelSelector: MANAGED_BY_SELECTOR, listGate: this.listGate },
      this.log,
      (_t, o) => this.enqueueOwner(o),
    );
  }

  private addOwned(type: ResourceType, inf: ResilientInformer<KubernetesObject>): void {
    const key = typeKey(type);
    this.owned.set(key, [...(this.owned.get(key) ?? []), inf]);
  }

  /**
   * A Prometheus Operator installed after we started (or a discovery call that
   * failed) must not disable ServiceMonitors until a restart: every resync
   * asks again until the API is there, then watches it and reconciles all.
   */
  private async rediscover(): Promise<void> {
    if (this.smAvailable || this.discovering || this.stopping) return;
    this.discovering = true;
    try {
      if (!(await this.discoverServiceMonitor())) return;
      const types = ownedTypes.filter((t) => t.optional);
      const added = types.flatMap((type) =>
        this.watchedNamespaces().map((ns) => ({ type, inf: this.ownedInformer(type, ns) })),
      );
      await Promise.all(added.map((a) => a.inf.start()));
      await Promise.all(added.map((a) => a.inf.waitForSync()));
      if (this.stopping) {
        await Promise.all(added.map((a) => a.inf.stop()));
        return;
      }
      // Only once their caches are complete, so no reconcile sees them half-filled.
      for (const a of added) this.addOwned(a.type, a.inf);
      this.types.push(...types);
      this.smAvailable = true;
      this.log.info("ServiceMonitor API found; reconciling ServiceMonitors");
      this.resyncAll();
    } catch (err) {
      this.log.warn("ServiceMonitor discovery failed; trying again on the next resync", {
        error: errorMessage(err),
      });
    } finally {
      this.discovering = false;
    }
  }

  private async discoverServiceMonitor(): Promise<boolean> {
    try {
      const sm = RESOURCES.ServiceMonitor;
      const res = await this.client.rawGet<{ resources?: { name: string }[] }>(`/apis/${apiVersionOf(sm)}`);
      return !!res.resources?.some((r) => r.name === sm.plural);
    } catch {
      return false;
    }
  }
}

function typeKey(t: ResourceType): string {
  return `${t.group}/${t.version}/${t.plural}`;
}
