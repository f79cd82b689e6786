// Events for what an operator of Calls watches on each pod: a drain starting
// (with the calls it still holds), a drain finishing, and rtcd's media
// workers dying and being restarted. The transitions are pure (podEvents);
// the watcher reads each pod's /metrics in the background (at most every
// SAMPLE_MS per pod, at once when a pod starts draining), so a reconcile
// never waits for a pod's HTTP answer. Routine reads share a bound on reads
// in flight: a restarted operator finds every pod due at once, and with 1000
// pods, 1000 requests (each with its own connection pool) at a time were
// most of its memory peak. A pod that starts draining is read at once, past
// that queue: its calls at that moment are what DrainStarted reports.
import type { V1Pod } from "@kubernetes/client-node";
import type { DefaultedMattermostRTCD } from "../api/index.ts";
import { isReady, sumMetric, CALLS_METRIC } from "../autoscale/sampler.ts";
import type { PodAddress } from "../controller/registration.ts";
import { tlsEnabled } from "../render/names.ts";
import { PodHttp } from "../util/pod-http.ts";
import type { Logger } from "../util/log.ts";

/** rtcd's (ours) count of media workers that died; each is restarted. */
export const WORKER_DEATHS_METRIC = "rtcd_media_worker_deaths_total";
const SAMPLE_MS = 30_000;

export interface PodView {
  pod: string;
  draining: boolean;
  /** When the pod was asked to stop (ms). */
  drainingSince?: number;
  /** Calls the pod held at its latest sample (for a draining pod: when the drain started). */
  calls?: number;
  workerDeaths?: number;
}

export interface PodEvent {
  type: "Normal" | "Warning";
  reason: "DrainStarted" | "DrainFinished" | "WorkerRestarted";
  message: string;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s % 60}s`;
}

export function podEvents(
  prev: ReadonlyMap<string, PodView>,
  next: readonly PodView[],
  now: number,
): PodEvent[] {
  const events: PodEvent[] = [];
  const seen = new Set<string>();
  for (const v of next) {
    seen.add(v.pod);
    const p = prev.get(v.pod);
    if (v.draining && !p?.draining) {
      const holds = v.calls === undefined ? " (calls unknown)" : ` with ${v.calls} call(s)`;
      events.push({
        type: "Normal",
        reason: "DrainStarted",
        message: `pod ${v.pod} started draining${holds}`,
      });
    }
    if (p?.workerDeaths !== undefined && v.workerDeaths !== undefined && v.workerDeaths > p.workerDeaths) {
      events.push({
        type: "Warning",
        reason: "WorkerRestarted",
        message: `pod ${v.pod}: ${v.workerDeaths - p.workerDeaths} media worker(s) died and were restarted`,
      });
    }
  }
  for (const p of prev.values()) {
    if (seen.has(p.pod) || !p.draining) continue;
    const held = p.calls === undefined ? "" : `; it held ${p.calls} call(s) when it started`;
    const after = p.drainingSince === undefined ? "" : ` after ${duration(now - p.drainingSince)}`;
    events.push({
      type: "Normal",
      reason: "DrainFinished",
      message: `pod ${p.pod} finished draining${after}${held}`,
    });
  }
  return events;
}

interface Sample {
  calls?: number;
  workerDeaths?: number;
}

export interface PodEventWatcherOptions {
  resolve: PodAddress;
  onEvent: (namespace: string, name: string, e: PodEvent) => void;
  now?: () => number;
  /** Shared with the operator's other pod readers; else its own (timeoutMs, concurrency). */
  http?: PodHttp;
  timeoutMs?: number;
  /** Routine reads in flight across all instances (default 16). */
  concurrency?: number;
  log?: Logger;
}

interface PodState {
  view: PodView;
  sampledAt?: number;
  sampling: boolean;
}

export class PodEventWatcher {
  private readonly opts: PodEventWatcherOptions;
  private readonly now: () => number;
  private readonly instances = new Map<string, Map<string, PodState>>();
  private readonly http: PodHttp;

  constructor(opts: PodEventWatcherOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    // Its own timeoutMs and concurrency, when not given the operator's reader.
    this.http = opts.http ?? new PodHttp(opts);
  }

  sync(cr: DefaultedMattermostRTCD, pods: readonly V1Pod[]): void {
    const ns = cr.metadata!.namespace!;
    const name = cr.metadata!.name!;
    const key = `${ns}/${name}`;
    const states = this.instances.get(key) ?? new Map<string, PodState>();
    this.instances.set(key, states);
    const emit = (prev: ReadonlyMap<string, PodView>, next: PodView[]) => {
      for (const e of podEvents(prev, next, this.now())) this.opts.onEvent(ns, name, e);
    };
    const present = new Set(pods.map((p) => p.metadata!.name!));
    const gone = [...states.values()].filter((s) => !present.has(s.view.pod));
    emit(new Map(gone.map((s) => [s.view.pod, s.view])), []);
    for (const s of gone) states.delete(s.view.pod);

    const tls = tlsEnabled(cr);
    for (const pod of pods) {
      const podName = pod.metadata!.name!;
      const st = states.get(podName) ?? { view: { pod: podName, draining: false }, sampling: false };
      states.set(podName, st);
      const stopping = pod.metadata?.deletionTimestamp;
      if (st.sampling) continue;
      const drainStarts = !!stopping && !st.view.draining;
      const due = st.sampledAt === undefined || this.now() - st.sampledAt >= SAMPLE_MS;
      if (!drainStarts && !(due && isReady(pod) && !stopping)) continue;
      const base = this.opts.resolve(pod, cr.spec.apiPort, tls ? "https" : "http");
      st.sampling = true;
      // A pod starting to drain is read at once: its calls at that moment
      // are what the DrainStarted event reports.
      void this.sample(base, tls, drainStarts).then((s) => {
        st.sampling = false;
        // A pod not answering yet is asked again on the next reconcile: its
        // first answer is the baseline a later worker death is counted from.
        if (s.calls !== undefined || s.workerDeaths !== undefined) st.sampledAt = this.now();
        // Removed while the request ran: its DrainFinished has been said.
        if (states.get(podName) !== st) return;
        const next: PodView = {
          ...st.view,
          ...(s.calls !== undefined ? { calls: s.calls } : {}),
          ...(s.workerDeaths !== undefined ? { workerDeaths: s.workerDeaths } : {}),
          ...(drainStarts
            ? { draining: true, drainingSince: new Date(stopping as unknown as string).getTime() }
            : {}),
        };
        if (drainStarts && s.calls === undefined) delete next.calls;
        this.opts.log?.debug("pod counters", { namespace: ns, name, pod: podName, ...s });
        emit(new Map([[podName, st.view]]), [next]);
        st.view = next;
      });
    }
  }

  forget(namespace: string, name: string): void {
    this.instances.delete(`${namespace}/${name}`);
  }

  private async sample(base: string | undefined, tls: boolean, now: boolean): Promise<Sample> {
    if (!base) return {};
    const url = `${base}/metrics`;
    const text = await (now ? this.http.getNow(url, tls) : this.http.get(url, tls));
    // Unreachable, slow or an error status: nothing learnt; the next sample may tell.
    if (text === undefined) return {};
    const calls = sumMetric(text, CALLS_METRIC);
    const workerDeaths = sumMetric(text, WORKER_DEATHS_METRIC);
    // Our rtcd declares the gauge but has no series while it holds no call:
    // zero. Mattermost's rtcd has no such gauge: unknown.
    const declared = text.includes(`# TYPE ${CALLS_METRIC} `);
    return {
      ...(calls !== undefined || declared ? { calls: calls ?? 0 } : {}),
      ...(workerDeaths !== undefined ? { workerDeaths } : {}),
    };
  }
}
