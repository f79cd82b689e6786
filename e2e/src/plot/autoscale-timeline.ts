// The autoscaling ramp as data and as a picture: what the real-node test
// records once a second (each rtcd pod's calls and sessions from its own
// /metrics, pods ready and terminating, the operator's desired replicas and
// load from status.autoscaling) and the SVG drawn from it for
// docs/autoscaling.md. Pure: the same timeline gives the same bytes.
import { dashboardSvg, type Panel, type Series } from "./svg.ts";

export interface PodPoint {
  name: string;
  ready: boolean;
  terminating: boolean;
  /** From the pod's rtcd /metrics; absent when it did not answer. */
  calls?: number;
  sessions?: number;
}

export interface TimelineSample {
  /** Seconds since the recording started. */
  t: number;
  pods: PodPoint[];
  /** status.autoscaling, when the operator has written it. */
  desiredReplicas?: number;
  loadPercent?: number;
}

/** A pod seen terminating, with what its rtcd held at that moment. */
export interface Deletion {
  t: number;
  pod: string;
  /**
   * What its rtcd held when the pod was seen terminating; an rtcd with no
   * session exits at once on SIGTERM, so then the last answer before that
   * (at `loadT`). undefined: its rtcd never answered (unknown, not empty).
   */
  sessions?: number;
  calls?: number;
  /** When the sessions and calls were read (seconds, as `t`). */
  loadT?: number;
}

export interface Timeline {
  /** What the run was: instance, targets, operator flags. */
  title: string;
  targetSessionsPerPod: number;
  samples: TimelineSample[];
  deletions: Deletion[];
  /** Marks worth a label: "load past target", "calls on the old pod ended". */
  marks: { t: number; what: string }[];
}

/** A pod's short label: the ReplicaSet's random suffix is what tells pods apart. */
export function podLabel(name: string): string {
  return `pod ${name.slice(name.lastIndexOf("-") + 1)}`;
}

/** Pods in the order they first appear. */
export function podsInOrder(samples: readonly TimelineSample[]): string[] {
  const seen: string[] = [];
  for (const s of samples) for (const p of s.pods) if (!seen.includes(p.name)) seen.push(p.name);
  return seen;
}

/** One series per pod of a per-pod number; samples where it is unknown leave no point. */
function perPod(samples: readonly TimelineSample[], pick: (p: PodPoint) => number | undefined): Series[] {
  return podsInOrder(samples).map((name) => ({
    name: podLabel(name),
    points: samples.flatMap((s) => {
      const p = s.pods.find((q) => q.name === name);
      const v = p && pick(p);
      return v === undefined ? [] : [[s.t, v] as const];
    }),
  }));
}

function series(
  name: string,
  samples: readonly TimelineSample[],
  pick: (s: TimelineSample) => number | undefined,
): Series {
  return {
    name,
    points: samples.flatMap((s) => {
      const v = pick(s);
      return v === undefined ? [] : [[s.t, v] as const];
    }),
  };
}

export function autoscalePanels(tl: Timeline): Panel[] {
  const s = tl.samples;
  const span = s.length ? [s[0]!.t, s[s.length - 1]!.t] : [0, 0];
  const flat = (name: string, v: number): Series => ({
    name,
    points: [
      [span[0]!, v],
      [span[1]!, v],
    ],
  });
  const sum = (p: PodPoint[], pick: (q: PodPoint) => number | undefined) =>
    p.reduce((a, q) => a + (pick(q) ?? 0), 0);
  return [
    { title: "Calls per pod (rtcd_calls)", unit: "calls", series: perPod(s, (p) => p.calls), minYMax: 2 },
    {
      title: "Sessions per pod (rtcd_rtc_sessions_total)",
      unit: "sessions",
      series: [
        ...perPod(s, (p) => p.sessions),
        flat(`target ${tl.targetSessionsPerPod}/pod`, tl.targetSessionsPerPod),
      ],
      minYMax: tl.targetSessionsPerPod,
    },
    {
      title: "Pods",
      unit: "pods",
      series: [
        series("ready", s, (x) => x.pods.filter((p) => p.ready && !p.terminating).length),
        series("terminating", s, (x) => x.pods.filter((p) => p.terminating).length),
        series("desired (status)", s, (x) => x.desiredReplicas),
      ],
      minYMax: 2,
    },
    {
      title: "Load against target",
      unit: "%",
      series: [
        series("operator (loadPercent)", s, (x) => x.loadPercent),
        series("pods' /metrics", s, (x) => {
          const ready = x.pods.filter((p) => p.ready && !p.terminating).length;
          return ready
            ? Math.round((sum(x.pods, (p) => p.sessions) / (ready * tl.targetSessionsPerPod)) * 100)
            : undefined;
        }),
        flat("target", 100),
      ],
      minYMax: 100,
    },
  ];
}

export function autoscaleSvg(tl: Timeline, regenerate: string): string {
  const marks = tl.marks.map((m) => `${m.t.toFixed(0)} s ${m.what}`).join("; ");
  return dashboardSvg(autoscalePanels(tl), {
    title: tl.title,
    subtitle: `${marks ? `${marks}. ` : ""}Regenerate: ${regenerate}`,
    columns: 2,
    panelWidth: 520,
    panelHeight: 260,
    xLabel: "seconds",
  });
}
