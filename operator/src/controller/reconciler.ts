// One reconcile of one MattermostRTCD: render the desired objects (pure),
// apply only what differs from the cache, delete what is no longer wanted,
// and report status. Everything it needs to read comes from informer caches,
// except the Secrets it references (read, never cached: they hold values), so
// a reconcile of an unchanged CR makes no write.
// About 500 lines, over the ~400 we aim for: the steps of one reconcile, in
// order; the pure parts (render, status, ownership, semantic diff), the
// autoscaling step (autoscale-step.ts) and the Mattermost client's Secret
// and registration (mattermost-client.ts, registration.ts) already live
// apart. Next to split: applyAll/prune into their own class.
import { createHash, randomBytes } from "node:crypto";
import type {
  KubernetesObject,
  V1DaemonSet,
  V1Deployment,
  V1Pod,
  V1Secret,
  V1Service,
} from "@kubernetes/client-node";
import {
  GROUP,
  KIND,
  VERSION,
  applyDefaults,
  type DefaultedMattermostRTCD,
  type MattermostRTCD,
} from "../api/index.ts";
import type { AutoscalingStatus } from "../api/index.ts";
import {
  adminSecretName,
  generatedAdminSecretRequired,
  instanceSelector,
  referencedSecrets,
  render,
} from "../render/index.ts";
import { ADMIN_SECRET_KEY } from "../render/names.ts";
import { computeStatus, statusEqual } from "../status/compute.ts";
import { RESOURCES, apiVersionOf, type ResourceType } from "../api/resources.ts";
import { KubeApiError, isNotFound, type KubeClient } from "./kube-client.ts";
import { firstDifference } from "./semantic.ts";
import { conflictMessage, controlledBy, findConflicts } from "./ownership.ts";
import type { EventRecorder } from "./events.ts";
import type { Autoscaler } from "../autoscale/autoscaler.ts";
import { planAutoscale, reportAutoscale, type AutoscalePlan } from "./autoscale-step.ts";
import type { Logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";
import { mattermostSecretName } from "../render/mattermost-secret.ts";
import { adminSecretKey } from "../render/secrets.ts";
import { ensureMattermostSecret } from "./mattermost-client.ts";
import { Registrar, type PodAddress } from "./registration.ts";
import type { MediaProber } from "../probe/prober.ts";
import type { PodEventWatcher } from "../probe/pod-events.ts";
import type { MediaCondition } from "../probe/condition.ts";

export const FIELD_MANAGER = "mattermost-rtcd-operator";
export const MANAGED_BY_SELECTOR = "app.kubernetes.io/managed-by=mattermost-rtcd-operator";

/** Read access to the caches the reconciler works from. */
export interface Caches {
  getCR(namespace: string, name: string): MattermostRTCD | undefined;
  /** Owned objects of one type in a namespace (already filtered to our label). */
  listOwned(type: ResourceType, namespace: string): readonly KubernetesObject[];
  getOwned(type: ResourceType, namespace: string, name: string): KubernetesObject | undefined;
  ownedTypes(): readonly ResourceType[];
  /** The pods of one instance (by its instance label), for status only. */
  listPods(namespace: string, instance: string): readonly V1Pod[];
  serviceMonitorAvailable(): boolean;
}

interface SecretValue {
  name: string;
  key: string;
  value: string; // base64, as the API returns it
}

/** Undefined when no Secret is read, so such pods carry no checksum at all. */
export function secretsChecksum(salt: string, values: readonly SecretValue[]): string | undefined {
  if (values.length === 0) return undefined;
  const h = createHash("sha256").update(salt);
  const sorted = [...values].sort((a, b) => `${a.name}/${a.key}`.localeCompare(`${b.name}/${b.key}`));
  for (const v of sorted)
    h.update("\0").update(v.name).update("\0").update(v.key).update("\0").update(v.value);
  return h.digest("hex").slice(0, 16);
}

export interface ReconcileResult {
  /** Retry with backoff (something is wrong that may fix itself). */
  retry: boolean;
  applied: number;
  deleted: number;
  /** Reconcile again after this long even without events (autoscaled instances). */
  requeueAfterMs?: number;
}

export interface Problem {
  reason: string;
  message: string;
}

/** Objects one reconcile created and updated, as "Kind name". */
interface Changes {
  created: string[];
  updated: string[];
}

export class Reconciler {
  private readonly client: KubeClient;
  private readonly caches: Caches;
  private readonly events: EventRecorder;
  private readonly log: Logger;

  private readonly clusterDomain: string | undefined;
  private readonly registrar: Registrar;
  private readonly autoscaler: Autoscaler | undefined;
  private readonly prober: MediaProber | undefined;
  private readonly podEvents: PodEventWatcher | undefined;

  constructor(
    client: KubeClient,
    caches: Caches,
    events: EventRecorder,
    log: Logger,
    opts: {
      clusterDomain?: string;
      podAddress?: PodAddress;
      autoscaler?: Autoscaler;
      prober?: MediaProber;
      podEvents?: PodEventWatcher;
    } = {},
  ) {
    this.prober = opts.prober;
    this.podEvents = opts.podEvents;
    this.clusterDomain = opts.clusterDomain;
    this.registrar = new Registrar(client, opts.podAddress);
    this.autoscaler = opts.autoscaler;
    this.client = client;
    this.caches = caches;
    this.events = events;
    this.log = log;
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const result: ReconcileResult = { retry: false, applied: 0, deleted: 0 };
    const cached = this.caches.getCR(namespace, name);
    // Deleted: owner references let the garbage collector remove the rest.
    if (!cached || cached.metadata?.deletionTimestamp) {
      this.autoscaler?.forget(namespace, name);
      this.prober?.forget(namespace, name);
      this.podEvents?.forget(namespace, name);
      return result;
    }
    const cr = applyDefaults(structuredClone(cached));
    const log = this.log.child({ namespace, name });
    const problems: Problem[] = [];
    // Objects this reconcile wrote, as the API server returned them: the cache
    // has not seen them yet, and status must not be computed from the old ones.
    const fresh = new Map<string, KubernetesObject>();
    // What this reconcile created and updated, told in one Event each at the
    // end: a new instance's objects are one fact for `kubectl describe`, and
    // an Event is an API write like the objects themselves.
    const changes: Changes = { created: [], updated: [] };

    if (cr.spec?.paused) {
      await this.writeStatus(cr, problems, log, fresh);
      return result;
    }

    const secrets = await this.checkSecrets(cr);
    problems.push(...secrets.problems);
    if (problems.length === 0 && generatedAdminSecretRequired(cr)) {
      // The first write of an instance: only if none of its names is taken.
      const guard = () =>
        this.nameConflict(
          cr,
          render(cr, { serviceMonitorAvailable: this.caches.serviceMonitorAvailable() }).objects,
        );
      const admin = await this.ensureAdminSecret(cr, log, guard);
      if (admin.problem) problems.push(admin.problem);
      if (admin.value) secrets.values.push(admin.value);
      if (admin.created) changes.created.push(admin.created);
    }

    let scale: AutoscalePlan | undefined;
    if (problems.length === 0) {
      try {
        if (this.autoscaler) scale = await planAutoscale(this.autoscalerDeps(), this.caches, cr, log);
        if (scale) result.requeueAfterMs = this.autoscaler!.intervalMs;
        const { objects, warnings } = render(cr, {
          serviceMonitorAvailable: this.caches.serviceMonitorAvailable(),
          secretsChecksum: secretsChecksum(cr.metadata?.uid ?? "", secrets.values),
          ...(scale ? { replicas: scale.replicas } : {}),
        });
        for (const w of warnings) this.events.record(cr, "Warning", "RenderWarning", w);
        const desired = objects.map((o) => withOwner(o, cr));
        const conflict = await this.nameConflict(cr, desired);
        if (conflict) {
          problems.push(conflict);
        } else {
          result.applied = await this.applyAll(cr, desired, log, fresh, changes);
          result.deleted = await this.prune(cr, desired, log);
          if (cr.spec.mattermostClient)
            problems.push(...(await this.mattermostClient(cr, secrets.values, log)));
          if (scale && this.autoscaler) reportAutoscale(this.autoscalerDeps(), cr, scale, log);
        }
      } catch (err) {
        problems.push(applyProblem(err));
      }
    }

    if (changes.created.length)
      this.events.record(cr, "Normal", "Created", `created ${changes.created.join(", ")}`);
    if (changes.updated.length)
      this.events.record(cr, "Normal", "Updated", `updated ${changes.updated.join(", ")}`);
    for (const p of problems) {
      log.warn("degraded", { reason: p.reason, error: p.message });
      this.events.record(cr, "Warning", p.reason, p.message);
    }
    // Starts the probes that are due (they run in the background) and reads
    // the latest results; a finished probe enqueues this instance again.
    const pods = this.caches.listPods(namespace, name);
    const media = this.prober?.sync(cr, pods, adminKeyOf(cr, secrets.values));
    // Drain and worker events, from counters also read in the background.
    this.podEvents?.sync(cr, pods);
    if (media?.requeueAfterMs !== undefined) {
      result.requeueAfterMs = Math.min(result.requeueAfterMs ?? Infinity, media.requeueAfterMs);
    }
    await this.writeStatus(cr, problems, log, fresh, scale?.status, media?.condition);
    result.retry = problems.length > 0;
    return result;
  }

  private autoscalerDeps() {
    return {
      client: this.client,
      autoscaler: this.autoscaler!,
      events: this.events,
      fieldManager: FIELD_MANAGER,
    };
  }

  /**
   * Reads every Secret the pods will read. Values are only hashed (salted
   * with the CR's uid) so that a changed value rolls the pods; they are never
   * logged, rendered or reported.
   */
  private async checkSecrets(cr: MattermostRTCD): Promise<{ problems: Problem[]; values: SecretValue[] }> {
    const ns = cr.metadata!.namespace!;
    const problems: Problem[] = [];
    const values: SecretValue[] = [];
    for (const ref of referencedSecrets(cr)) {
      let secret: V1Secret | undefined;
      try {
        secret = await this.client.getOrUndefined<V1Secret>(RESOURCES.Secret, ns, ref.name);
      } catch (err) {
        problems.push({
          reason: "SecretUnreadable",
          message: `${ref.field}: reading Secret "${ref.name}": ${errorMessage(err)}`,
        });
        continue;
      }
      const value = secret?.data?.[ref.key] ?? secret?.stringData?.[ref.key];
      if (!secret) {
        problems.push({
          reason: "SecretNotFound",
          message: `${ref.field}: Secret "${ref.name}" not found in namespace "${ns}"`,
        });
      } else if (value === undefined) {
        problems.push({
          reason: "SecretKeyNotFound",
          message: `${ref.field}: Secret "${ref.name}" has no key "${ref.key}"`,
        });
      } else {
        values.push({ name: ref.name, key: ref.key, value });
      }
    }
    return { problems, values };
  }

  /**
   * The admin key is generated once and never rewritten: rotating it is the
   * user's call (deleting the Secret makes a new key, and the checksum then
   * rolls the pods onto it).
   */
  /**
   * Write nothing at all when a name is taken by an object we did not create:
   * half an instance next to a user's object (say our Deployment behind their
   * Service) would be worse than none.
   */
  private async nameConflict(cr: MattermostRTCD, objects: KubernetesObject[]): Promise<Problem | undefined> {
    const ns = cr.metadata!.namespace!;
    const conflicts = await findConflicts(
      this.client,
      cr,
      objects.map((obj) => {
        const type = this.typeOf(obj);
        return { obj, type, cached: this.caches.getOwned(type, ns, obj.metadata!.name!) };
      }),
    );
    return conflicts.length ? { reason: "NameConflict", message: conflictMessage(conflicts, ns) } : undefined;
  }

  private async ensureAdminSecret(
    cr: MattermostRTCD,
    log: Logger,
    guard: () => Promise<Problem | undefined>,
  ): Promise<{ problem?: Problem; value?: SecretValue; created?: string }> {
    const ns = cr.metadata!.namespace!;
    const secretName = adminSecretName(cr);
    const valueOf = (s: KubernetesObject | undefined) => {
      const v = (s as V1Secret | undefined)?.data?.[ADMIN_SECRET_KEY];
      return v === undefined ? undefined : { name: secretName, key: ADMIN_SECRET_KEY, value: v };
    };
    const cached = this.caches.getOwned(RESOURCES.Secret, ns, secretName);
    if (cached) return { value: valueOf(cached) };
    const existing = await this.client.getOrUndefined<V1Secret>(RESOURCES.Secret, ns, secretName);
    if (existing) return { value: valueOf(existing) };
    const conflict = await guard();
    if (conflict) return { problem: conflict };
    const secret = withOwner(
      {
        apiVersion: apiVersionOf(RESOURCES.Secret),
        kind: RESOURCES.Secret.kind,
        metadata: {
          name: secretName,
          namespace: ns,
          labels: { ...labelsFor(cr), "app.kubernetes.io/managed-by": "mattermost-rtcd-operator" },
        },
        type: "Opaque",
        data: {
          [ADMIN_SECRET_KEY]: Buffer.from(randomBytes(32).toString("base64url")).toString("base64"),
        },
      } as KubernetesObject,
      cr,
    );
    try {
      const created = await this.client.create<V1Secret>(RESOURCES.Secret, secret, FIELD_MANAGER);
      log.info("generated admin secret", { secret: secretName });
      return { value: valueOf(created), created: `Secret ${secretName} (a random admin key)` };
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 409) {
        return {
          value: valueOf(await this.client.getOrUndefined<V1Secret>(RESOURCES.Secret, ns, secretName)),
        };
      }
      return { problem: applyProblem(err) };
    }
  }

  /** The Secret for Mattermost, then the client on every serving pod (registration.ts). */
  private async mattermostClient(
    cr: DefaultedMattermostRTCD,
    secretValues: readonly SecretValue[],
    log: Logger,
  ): Promise<Problem[]> {
    const ns = cr.metadata!.namespace!;
    const { creds, problem } = await ensureMattermostSecret(
      this.client,
      this.caches.getOwned(RESOURCES.Secret, ns, mattermostSecretName(cr)),
      cr,
      { clusterDomain: this.clusterDomain, log, events: this.events, withOwner: (o) => withOwner(o, cr) },
    );
    if (problem) return [problem];
    const adminKey = adminKeyOf(cr, secretValues);
    if (!creds || !adminKey) return [];
    const res = await this.registrar.sync(
      cr,
      creds,
      adminKey,
      this.caches.listPods(ns, cr.metadata!.name!),
      log,
    );
    if (res.failures.length === 0) return [];
    return [
      {
        reason: "ClientRegistrationFailed",
        message: `registering the Mattermost client: ${res.failures.join("; ")}`,
      },
    ];
  }

  /** Applies what differs from the cache; names what it wrote in `changes`, even when one apply fails. */
  private async applyAll(
    cr: MattermostRTCD,
    desired: KubernetesObject[],
    log: Logger,
    fresh: Map<string, KubernetesObject>,
    changes: Changes,
  ): Promise<number> {
    let applied = 0;
    for (const obj of desired) {
      const type = this.typeOf(obj);
      const md = obj.metadata!;
      const live = this.caches.getOwned(type, md.namespace!, md.name!);
      const diff = live ? firstDifference(live, obj) : "(absent)";
      if (diff === undefined) continue;
      fresh.set(`${obj.kind}/${md.name}`, await this.client.apply(type, obj, FIELD_MANAGER));
      (live ? changes.updated : changes.created).push(`${obj.kind} ${md.name}`);
      applied++;
      log.info(live ? "updated" : "created", { kind: obj.kind, object: md.name, field: diff });
    }
    return applied;
  }

  private async prune(cr: MattermostRTCD, desired: KubernetesObject[], log: Logger): Promise<number> {
    const ns = cr.metadata!.namespace!;
    const deleted: string[] = [];
    try {
      for (const [type, obj] of this.unwanted(cr, desired)) {
        await this.client.delete(type, ns, obj.metadata!.name!, { uid: obj.metadata!.uid });
        deleted.push(`${type.kind} ${obj.metadata!.name}`);
        log.info("deleted", { kind: type.kind, object: obj.metadata!.name });
      }
    } finally {
      // One Event for all of them, as for what reconcile() created.
      if (deleted.length)
        this.events.record(
          cr,
          "Normal",
          "Deleted",
          `deleted ${deleted.join(", ")}: no longer wanted by the spec`,
        );
    }
    return deleted.length;
  }

  /** Objects this CR controls that the spec no longer renders. */
  private *unwanted(
    cr: MattermostRTCD,
    desired: KubernetesObject[],
  ): Generator<[ResourceType, KubernetesObject]> {
    const ns = cr.metadata!.namespace!;
    const uid = cr.metadata!.uid;
    const wanted = new Set(desired.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata!.name}`));
    for (const type of this.caches.ownedTypes()) {
      for (const obj of this.caches.listOwned(type, ns)) {
        if (!obj.metadata?.ownerReferences?.some((r) => r.uid === uid && r.controller)) continue;
        const id = `${apiVersionOf(type)}/${type.kind}/${obj.metadata.name}`;
        if (wanted.has(id)) continue;
        if (
          type.kind === RESOURCES.Secret.kind &&
          obj.metadata.name === adminSecretName(cr) &&
          generatedAdminSecretRequired(cr)
        ) {
          continue;
        }
        // Written outside render (it holds a key); kept while a client is declared.
        if (
          type.kind === RESOURCES.Secret.kind &&
          obj.metadata.name === mattermostSecretName(cr) &&
          cr.spec?.mattermostClient
        ) {
          continue;
        }
        yield [type, obj];
      }
    }
  }

  private async writeStatus(
    cr: MattermostRTCD,
    problems: Problem[],
    log: Logger,
    fresh: Map<string, KubernetesObject>,
    autoscaling?: AutoscalingStatus,
    mediaReachable?: MediaCondition,
  ): Promise<void> {
    const ns = cr.metadata!.namespace!;
    const name = cr.metadata!.name!;
    const workload =
      (fresh.get(`Deployment/${name}`) as V1Deployment | undefined) ??
      (fresh.get(`DaemonSet/${name}`) as V1DaemonSet | undefined) ??
      (this.caches.getOwned(RESOURCES.Deployment, ns, name) as V1Deployment | undefined) ??
      (this.caches.getOwned(RESOURCES.DaemonSet, ns, name) as V1DaemonSet | undefined);
    const liveWorkload =
      workload && controlledBy(workload, cr) && workloadKindWanted(cr, workload) ? workload : undefined;
    const services = this.caches
      .listOwned(RESOURCES.Service, ns)
      .filter((s) => controlledBy(s, cr)) as V1Service[];
    const status = computeStatus({
      cr,
      workload: liveWorkload,
      services,
      problems,
      now: new Date(),
      clusterDomain: this.clusterDomain,
      pods: this.caches.listPods(ns, name),
      ...(autoscaling ? { autoscaling } : {}),
      ...(mediaReachable ? { mediaReachable } : {}),
    });
    if (statusEqual(cr.status, status)) return;
    try {
      await this.client.applyStatus(
        RESOURCES.MattermostRTCD,
        {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: KIND,
          metadata: { name, namespace: ns },
          status,
        } as KubernetesObject,
        FIELD_MANAGER,
      );
    } catch (err) {
      // Deleted since the cache showed it (a namespace being torn down):
      // there is nobody left to report to, and no error to log.
      if (isNotFound(err)) return;
      throw err;
    }
    log.debug("status updated", { ready: status.conditions?.find((c) => c.type === "Ready")?.status });
  }

  private typeOf(obj: KubernetesObject): ResourceType {
    const t = this.caches.ownedTypes().find((t) => apiVersionOf(t) === obj.apiVersion && t.kind === obj.kind);
    if (!t) throw new Error(`render produced ${obj.apiVersion} ${obj.kind}, which is not an owned type`);
    return t;
  }
}

/** rtcd's admin key, as its pods read it, when this reconcile could read it. */
function adminKeyOf(cr: MattermostRTCD, values: readonly SecretValue[]): string | undefined {
  const admin = values.find((v) => v.name === adminSecretName(cr) && v.key === adminSecretKey(cr));
  return admin ? Buffer.from(admin.value, "base64").toString() : undefined;
}

function workloadKindWanted(cr: MattermostRTCD, w: KubernetesObject): boolean {
  const want = cr.spec?.deploymentType ?? "Deployment";
  return w.kind === undefined || w.kind === want;
}

function labelsFor(cr: MattermostRTCD): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of instanceSelector(cr.metadata!.name!).split(",")) {
    const [k, v] = part.split("=");
    if (k && v !== undefined) labels[k] = v;
  }
  return labels;
}

export function withOwner(obj: KubernetesObject, cr: MattermostRTCD): KubernetesObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      ownerReferences: [
        {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: KIND,
          name: cr.metadata!.name!,
          uid: cr.metadata!.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
  };
}

function applyProblem(err: unknown): Problem {
  if (err instanceof KubeApiError) {
    const reason = err.status === 422 ? "InvalidObject" : err.status === 403 ? "Forbidden" : "ApplyFailed";
    return { reason, message: err.message };
  }
  return { reason: "ReconcileError", message: errorMessage(err) };
}
