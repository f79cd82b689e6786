// Leader election on a coordination.k8s.io Lease, with client-go's semantics:
// a candidate takes the lease only when the holder has not renewed it for a
// whole lease duration as observed on OUR clock (never comparing timestamps
// written by another machine's clock), updates are guarded by resourceVersion,
// and a leader that cannot renew within the renew deadline steps down.
//
// All lease timing runs on a monotonic clock (wall-clock steps must not stretch
// a deadline), every lease call has a timeout well under the renew deadline,
// and the deadline is a timer of its own: a renew that hangs cannot keep the
// leader from noticing that its time is up while a standby takes the lease.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { KubeClient } from "./kube-client.ts";
import { RESOURCES, apiVersionOf } from "../api/resources.ts";
import { isConflict, isNotFound } from "./kube-client.ts";
import type { Logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";
import { monotonicClock, type Clock } from "../util/clock.ts";

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
  /** Per lease call; default a quarter of the renew deadline (a renew is at most two calls). */
  requestTimeoutMs?: number;
}

export class LeaderElector {
  readonly identity: string;
  private readonly opts: Required<LeaderElectionOptions>;
  private readonly client: KubeClient;
  private readonly log: Logger;
  private leading = false;
  private stopped = false;
  private timer: unknown;
  private deadline: unknown;
  private observed: { record: string; at: number } | undefined;
  private onStart: (() => void) | undefined;
  private onStop: (() => void) | undefined;
  private readonly clock: Clock;

  constructor(client: KubeClient, opts: LeaderElectionOptions, log: Logger, clock: Clock = monotonicClock) {
    this.identity = opts.identity ?? `${hostname()}_${randomBytes(4).toString("hex")}`;
    const renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.opts = {
      leaseDurationMs: 15_000,
      renewDeadlineMs,
      retryPeriodMs: 2_000,
      requestTimeoutMs: Math.max(100, Math.floor(renewDeadlineMs / 4)),
      ...opts,
      identity: this.identity,
    };
    if (this.opts.renewDeadlineMs >= this.opts.leaseDurationMs) {
      // Otherwise a standby may take the lease while we still believe we lead.
      throw new Error("leader election: the renew deadline must be shorter than the lease duration");
    }
    this.client = client.withTimeout(this.opts.requestTimeoutMs);
    this.clock = clock;
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
    this.clearTimers();
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

  isLeading(): boolean {
    return this.leading;
  }

  private clearTimers(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.deadline !== undefined) this.clock.clearTimeout(this.deadline);
    this.timer = this.deadline = undefined;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    // The renew counts from when it was sent: the lease's renewTime says so,
    // and a standby counts its lease duration from seeing that record.
    const sentAt = this.clock.now();
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.log.warn("lease update failed", { error: errorMessage(err) });
    }
    // Stepped down (deadline) or released while the call was in flight.
    if (this.stopped) return;
    if (ok) {
      this.armDeadline(sentAt + this.opts.renewDeadlineMs - this.clock.now());
      if (!this.leading) {
        this.leading = true;
        this.log.info("became leader");
        this.onStart?.();
      }
    }
    this.timer = this.clock.setTimeout(() => void this.tick(), this.opts.retryPeriodMs);
  }

  private armDeadline(inMs: number): void {
    if (this.deadline !== undefined) this.clock.clearTimeout(this.deadline);
    this.deadline = this.clock.setTimeout(() => this.stepDown(), Math.max(0, inMs));
  }

  /** No successful renew within the renew deadline: stop acting as leader at once. */
  private stepDown(): void {
    if (this.stopped || !this.leading) return;
    this.leading = false;
    this.stopped = true;
    this.clearTimers();
    this.log.error("lost leadership: could not renew the lease within the renew deadline", {
      renewDeadlineMs: this.opts.renewDeadlineMs,
    });
    this.onStop?.();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.opts;
    // Wall time only for the record others read (as client-go writes it), never for our deadlines.
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
    const seenAt = this.clock.now();
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: seenAt };
    const holder = spec.holderIdentity ?? "";
    const heldByOther = holder !== "" && holder !== this.identity;
    const theirDurationMs = (spec.leaseDurationSeconds ?? durationS) * 1000;
    if (heldByOther && this.leading) {
      // Someone else holds it (we were too late, or a release raced us): our
      // leadership is over whatever our deadline says.
      this.stepDown();
      return false;
    }
    if (heldByOther && seenAt < this.observed.at + theirDurationMs) return false;
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
