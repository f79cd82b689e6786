// Records an autoscaled MattermostRTCD on real nodes once a second: each
// pod's readiness and deletion, the calls and sessions its rtcd reports on
// /metrics (read from the pod itself, not from the operator), and the
// operator's status.autoscaling. Every pod seen terminating is recorded with
// what its rtcd held at that moment, so a test can assert that no pod with a
// live call was deleted; the samples are the data of the ramp's plot.
import type { Deletion, PodPoint, Timeline, TimelineSample } from "../plot/autoscale-timeline.ts";
import { getJson } from "./kube.ts";

interface Pod {
  kind: "Pod";
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  status: { podIP?: string; conditions?: { type: string; status: string }[] };
}
interface Instance {
  kind: "MattermostRTCD";
  metadata: { name: string };
  status?: { autoscaling?: { desiredReplicas?: number; loadPercent?: number } };
}

/**
 * Sum of every series of one gauge in Prometheus text (rtcd labels them by
 * groupID). The operator's sampler has its own; this one reads the pod as
 * the test sees it, independently of the operator under test.
 */
export function sumGauge(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] !== name) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) total = (total ?? 0) + v;
  }
  return total;
}

/** One pod's calls and sessions from its rtcd; {} when it does not answer within the timeout. */
export async function rtcdLoad(ip: string, apiPort: number): Promise<{ calls?: number; sessions?: number }> {
  try {
    const r = await fetch(`http://${ip}:${apiPort}/metrics`, { signal: AbortSignal.timeout(800) });
    if (!r.ok) return {};
    const text = await r.text();
    // An idle rtcd exports no labelled series yet: that is 0, not unknown.
    return {
      calls: sumGauge(text, "rtcd_calls") ?? 0,
      sessions: sumGauge(text, "rtcd_rtc_sessions_total") ?? 0,
    };
  } catch {
    return {};
  }
}

export class AutoscaleRecorder {
  readonly samples: TimelineSample[] = [];
  readonly deletions: Deletion[] = [];
  readonly marks: { t: number; what: string }[] = [];
  /** Every pod name ever seen, for "no pod vanished unseen". */
  readonly seen = new Set<string>();
  private readonly t0 = Date.now();
  private running = true;
  private readonly loop: Promise<void>;
  private lastError: unknown;
  /** Each pod's last answer from its rtcd, for a pod that stops answering once it is deleted. */
  private readonly lastLoad = new Map<string, { t: number; calls?: number; sessions?: number }>();

  private readonly namespace: string;
  private readonly instance: string;
  private readonly apiPort: number;
  private readonly intervalMs: number;

  constructor(namespace: string, instance: string, apiPort: number, intervalMs = 1000) {
    this.namespace = namespace;
    this.instance = instance;
    this.apiPort = apiPort;
    this.intervalMs = intervalMs;
    this.loop = this.run();
  }

  /** Seconds since the recording started. */
  now(): number {
    return Math.round((Date.now() - this.t0) / 100) / 10;
  }

  mark(what: string): void {
    this.marks.push({ t: this.now(), what });
  }

  /** The latest sample, for tests that wait on what the recorder saw. */
  latest(): TimelineSample | undefined {
    return this.samples.at(-1);
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      try {
        await this.tick();
      } catch (err) {
        // A slow kubectl on a loaded machine skips a sample; it never ends the recording.
        this.lastError = err;
      }
      const wait = this.intervalMs - (Date.now() - started);
      // The sampling cadence, not synchronisation: the next sample is due then.
      if (wait > 0 && this.running) await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async tick(): Promise<void> {
    const t = this.now();
    const list = await getJson<{ items: (Pod | Instance)[] }>([
      "get",
      "pods,mattermostrtcds",
      "-n",
      this.namespace,
    ]);
    const pods = list.items.filter(
      (o): o is Pod =>
        o.kind === "Pod" && o.metadata.labels?.["app.kubernetes.io/instance"] === this.instance,
    );
    const cr = list.items.find(
      (o): o is Instance => o.kind === "MattermostRTCD" && o.metadata.name === this.instance,
    );
    const points: PodPoint[] = await Promise.all(
      pods.map(async (p) => ({
        name: p.metadata.name,
        ready: p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
        terminating: !!p.metadata.deletionTimestamp,
        ...(p.status.podIP ? await rtcdLoad(p.status.podIP, this.apiPort) : {}),
      })),
    );
    const names = new Set(points.map((p) => p.name));
    for (const p of points) {
      this.seen.add(p.name);
      if (p.sessions !== undefined) this.lastLoad.set(p.name, { t, calls: p.calls, sessions: p.sessions });
    }
    const deleted = (pod: string) => {
      if (this.deletions.some((d) => d.pod === pod)) return;
      const known = this.lastLoad.get(pod);
      this.deletions.push(
        known ? { t, pod, sessions: known.sessions, calls: known.calls, loadT: known.t } : { t, pod },
      );
    };
    for (const p of points) if (p.terminating) deleted(p.name);
    // Gone between two samples without being seen terminating: its last answer, if any.
    for (const name of this.seen) if (!names.has(name)) deleted(name);
    const a = cr?.status?.autoscaling;
    this.samples.push({
      t,
      pods: points,
      ...(a?.desiredReplicas !== undefined ? { desiredReplicas: a.desiredReplicas } : {}),
      ...(a?.loadPercent !== undefined ? { loadPercent: a.loadPercent } : {}),
    });
  }

  /** Stops after the sample in progress; throws if no sample could be taken at all. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (!this.samples.length) throw new Error(`no sample recorded: ${String(this.lastError)}`);
  }

  timeline(title: string, targetSessionsPerPod: number): Timeline {
    return {
      title,
      targetSessionsPerPod,
      samples: this.samples,
      deletions: this.deletions,
      marks: this.marks,
    };
  }
}
