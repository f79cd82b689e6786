// Schedules the media probe of every ready pod: on spec.probes.media's
// interval and at once when a pod becomes ready. Probes run in the
// background, never inside a reconcile: a call takes seconds per transport
// (up to twice the timeout per pod), and a reconcile that waited for it would
// hold a worker and delay every other instance's changes. A reconcile only
// starts the probes that are due and reads the latest results; a finished
// probe enqueues its instance only when the condition it reported last would
// change (the interval's requeue brings the next probe anyway): a restarted
// operator then reconciles each instance once, not once more per pod as its
// first probes come back, and a steady fleet once per interval, not twice.
// A process-wide bound on probes in flight keeps the operator's CPU and
// memory flat however many pods there are.
import type { V1Pod } from "@kubernetes/client-node";
import type { DefaultedMattermostRTCD } from "../api/index.ts";
import { isReady } from "../autoscale/sampler.ts";
import type { PodAddress } from "../controller/registration.ts";
import { tlsEnabled } from "../render/names.ts";
import type { Logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";
import {
  carriedOver,
  mediaReachable,
  probeEvents,
  type MediaCondition,
  type ProbeEvent,
} from "./condition.ts";
import { Gate } from "../util/gate.ts";
import type { ProbeFn } from "./runner.ts";
import type { PodProbe, ProbeOutcome } from "./types.ts";

export interface MediaProbeMetricsSink {
  observed(namespace: string, name: string, pod: string, results: readonly ProbeOutcome[]): void;
  forgetPod(namespace: string, name: string, pod: string): void;
}

export interface MediaProberOptions {
  resolve: PodAddress;
  /** A probe finished: reconcile the instance so its condition is written. */
  onResult: (namespace: string, name: string) => void;
  /** Events on the instance (transitions only). */
  onEvent: (namespace: string, name: string, e: ProbeEvent) => void;
  metrics?: MediaProbeMetricsSink;
  log: Logger;
  /** Probes in flight across all instances (default 2: each is two WebRTC peers). */
  concurrency?: number;
  /** Tests replace the call; the default imports the WebRTC stack on first use. */
  probe?: ProbeFn;
  now?: () => number;
}

/** What an instance's last sync() reported, and what it computed it from. */
interface Reported {
  ready: readonly string[];
  hasKey: boolean;
  carried?: MediaCondition;
  condition: MediaCondition;
}

interface PodState {
  /** The pod's Ready transition this state belongs to: a new one probes at once. */
  readySince: string;
  startedAt?: number;
  running: boolean;
  last?: PodProbe;
  /** What an earlier operator process reported, until this one's first probe. */
  carried?: MediaCondition;
}

const RETRY_UNREACHABLE_MS = 5_000;

const defaultProbe: ProbeFn = async (t) => (await import("./runner.ts")).probePod(t);

export class MediaProber {
  private readonly opts: MediaProberOptions;
  private readonly probe: ProbeFn;
  private readonly now: () => number;
  private readonly instances = new Map<string, Map<string, PodState>>();
  private readonly reported = new Map<string, Reported>();
  // Probes in flight across all instances.
  private readonly gate: Gate;

  constructor(opts: MediaProberOptions) {
    this.opts = opts;
    this.probe = opts.probe ?? defaultProbe;
    this.now = opts.now ?? Date.now;
    this.gate = new Gate(opts.concurrency ?? 2);
  }

  /**
   * Starts the probes that are due and returns the condition from the latest
   * results (undefined when the probe is off) and when to look again.
   */
  sync(
    cr: DefaultedMattermostRTCD,
    pods: readonly V1Pod[],
    adminKey: string | undefined,
  ): { condition?: MediaCondition; requeueAfterMs?: number } {
    const ns = cr.metadata!.namespace!;
    const name = cr.metadata!.name!;
    const key = `${ns}/${name}`;
    const spec = cr.spec.probes.media;
    if (!spec.intervalSeconds) {
      this.forget(ns, name);
      return {};
    }
    const intervalMs = spec.intervalSeconds * 1000;
    const states = this.instances.get(key) ?? new Map<string, PodState>();
    this.instances.set(key, states);
    const ready = pods.filter((p) => isReady(p) && !p.metadata?.deletionTimestamp);
    const names = new Set(ready.map((p) => p.metadata!.name!));
    for (const pod of states.keys()) {
      if (names.has(pod)) continue;
      states.delete(pod);
      this.opts.metrics?.forgetPod(ns, name, pod);
    }
    const now = this.now();
    const carried = carriedOver(cr.status?.conditions);
    let next: number | undefined;
    for (const pod of ready) {
      const podName = pod.metadata!.name!;
      const readySince = `${pod.metadata?.uid}/${readyTransition(pod)}`;
      let st = states.get(podName);
      if (!st || st.readySince !== readySince) {
        st = {
          readySince,
          running: false,
          ...(st?.last ? { last: st.last } : carried ? { carried } : {}),
        };
        states.set(podName, st);
      }
      const dueAt = st.startedAt === undefined ? now : st.startedAt + intervalMs;
      if (dueAt <= now && !st.running) {
        const base = this.opts.resolve(pod, cr.spec.apiPort, tlsEnabled(cr) ? "https" : "http");
        if (base && adminKey) {
          this.start(ns, name, podName, st, base, adminKey, spec.timeoutSeconds * 1000);
          next = Math.min(next ?? Infinity, intervalMs);
        } else {
          // No address or key yet: both usually come with an event, but
          // look again soon rather than count on it.
          next = Math.min(next ?? Infinity, RETRY_UNREACHABLE_MS);
        }
      } else {
        // A running probe enqueues nothing when its answer changes nothing,
        // so look again after an interval rather than count on its result.
        next = Math.min(next ?? Infinity, st.running ? intervalMs : dueAt - now);
      }
    }
    const inputs = { ready: [...names], hasKey: !!adminKey, ...(carried ? { carried } : {}) };
    const condition = conditionOf(states, inputs);
    this.reported.set(key, { ...inputs, condition });
    return { condition, ...(next !== undefined ? { requeueAfterMs: Math.max(1000, next) } : {}) };
  }

  forget(namespace: string, name: string): void {
    const states = this.instances.get(`${namespace}/${name}`);
    this.reported.delete(`${namespace}/${name}`);
    if (!states) return;
    for (const pod of states.keys()) this.opts.metrics?.forgetPod(namespace, name, pod);
    this.instances.delete(`${namespace}/${name}`);
  }

  /** Whether the instance's condition, computed now, differs from what its last sync() reported. */
  private changed(key: string): boolean {
    const states = this.instances.get(key);
    const r = this.reported.get(key);
    if (!states || !r) return true;
    return !sameCondition(conditionOf(states, r), r.condition);
  }

  private start(
    ns: string,
    name: string,
    pod: string,
    st: PodState,
    base: string,
    adminKey: string,
    timeoutMs: number,
  ): void {
    st.running = true;
    st.startedAt = this.now();
    const log = this.opts.log.child({ namespace: ns, name, pod });
    void (async () => {
      const results = await this.gate.run(async (): Promise<ProbeOutcome[]> => {
        try {
          return await this.probe({ base, adminKey, timeoutMs });
        } catch (err) {
          // The probe reports failures as outcomes; an exception is a bug or a
          // missing module, and is reported the same way rather than lost.
          const message = errorMessage(err);
          return (["udp", "tcp"] as const).map((transport) => ({
            transport,
            ok: false,
            reason: "JoinFailed",
            message,
            durationMs: 0,
          }));
        }
      });
      st.running = false;
      // The pod went away (or the probe was turned off) while the call ran.
      if (this.instances.get(`${ns}/${name}`)?.get(pod) !== st) return;
      const probe: PodProbe = { pod, at: new Date(this.now()).toISOString(), results };
      for (const e of probeEvents(st.last, probe, st.carried)) this.opts.onEvent(ns, name, e);
      st.last = probe;
      this.opts.metrics?.observed(ns, name, pod, results);
      log.info("media probe", {
        results: results.map((r) => ({
          transport: r.transport,
          reason: r.reason,
          ms: r.durationMs,
          ...(r.ok ? {} : { steps: r.steps }),
        })),
      });
      if (this.changed(`${ns}/${name}`)) this.opts.onResult(ns, name);
    })();
  }
}

/** The MediaReachable condition from the latest probe of each ready pod (pure). */
function conditionOf(states: ReadonlyMap<string, PodState>, r: Omit<Reported, "condition">): MediaCondition {
  const latest = r.ready.flatMap((pod) => states.get(pod)?.last ?? []);
  if (latest.length === 0 && r.ready.length > 0 && !r.hasKey) {
    return {
      status: "Unknown",
      reason: "NoAdminKey",
      message: "the probe needs rtcd's admin key, which is not readable yet",
    };
  }
  // Ready pods are probed at once; until then, the last answer stands.
  if (latest.length === 0 && r.ready.length > 0 && r.carried) return r.carried;
  return mediaReachable(latest);
}

function sameCondition(a: MediaCondition, b: MediaCondition): boolean {
  return a.status === b.status && a.reason === b.reason && a.message === b.message;
}

function readyTransition(pod: V1Pod): string {
  const c = pod.status?.conditions?.find((c) => c.type === "Ready");
  return String(c?.lastTransitionTime ?? "");
}
