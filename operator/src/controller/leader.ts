// Leader election on a coordination.k8s.io Lease, with client-go's semantics:
// a candidate takes the lease only when the holder has not renewed it for a
// whole lease duration as observed on OUR clock (never comparing timestamps
// written by another machine's clock), updates are guarded by resourceVersion,
// and a leader that cannot renew within the renew deadline steps down.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { KubeClient } from "./kube-client.ts";
import { RESOURCES, apiVersionOf } from "../api/resources.ts";
import { isConflict, isNotFound } from "./kube-client.ts";
import type { Logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";

const LEASE = RESOURCES.Lease;

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export class LeaderElector {
  readonly identity: string;
  private readonly opts: Required<LeaderElectionOptions>;
  private readonly client: KubeClient;
  private readonly log: Logger;
  private leading = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;
  private onStart: (() => void) | undefined;
  private onStop: (() => void) | undefined;

  constructor(client: KubeClient, opts: LeaderElectionOptions, log: Logger) {
    this.client = client;
    this.identity = opts.identity ?? `${hostname()}_${randomBytes(4).toString("hex")}`;
    this.opts = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...opts,
      identity: this.identity,
    };
    this.log = log.child({ lease: `${opts.namespace}/${opts.name}`, identity: this.identity });
  }

  /** Calls onStartedLeading once the lease is ours, onStoppedLeading if it is lost. */
  run(onStartedLeading: () => void, onStoppedLeading: () => void): void {
    this.onStart = onStartedLeading;
    this.onStop = onStoppedLeading;
    void this.tick();
  }

  /** Gives the lease up so a standby takes over at once instead of after expiry. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.get<Lease>(LEASE, this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity !== this.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 };
      await this.client.update(LEASE, lease);
      this.log.info("released leadership");
    } catch (err) {
      this.log.warn("could not release the lease", { error: errorMessage(err) });
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.log.warn("lease update failed", { error: errorMessage(err) });
    }
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.log.info("became leader");
        this.onStart?.();
      }
    } else if (this.leading && now - this.lastRenew > this.opts.renewDeadlineMs) {
      this.leading = false;
      this.log.error("lost leadership: could not renew the lease within the renew deadline");
      this.onStop?.();
      return;
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.opts.retryPeriodMs);
    this.timer.unref();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.opts;
    const now = new Date();
    const micro = toMicroTime(now);
    const durationS = Math.ceil(this.opts.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(LEASE, namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const fresh: Lease = {
        apiVersion: apiVersionOf(LEASE),
        kind: LEASE.kind,
        metadata: { name, namespace },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds: durationS,
          acquireTime: micro,
          renewTime: micro,
          leaseTransitions: 0,
        },
      };
      try {
        await this.client.create(LEASE, fresh);
        return true;
      } catch (e) {
        if (isConflict(e) || (e as { status?: number }).status === 409) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: Date.now() };
    const holder = spec.holderIdentity ?? "";
    const heldByOther = holder !== "" && holder !== this.identity;
    const theirDurationMs = (spec.leaseDurationSeconds ?? durationS) * 1000;
    if (heldByOther && Date.now() < this.observed.at + theirDurationMs) return false;
    const takingOver = holder !== this.identity;
    lease.spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: durationS,
      acquireTime: takingOver ? micro : (spec.acquireTime ?? micro),
      renewTime: micro,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder !== "" ? 1 : 0),
    };
    try {
      await this.client.update(LEASE, lease);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}

function toMicroTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
