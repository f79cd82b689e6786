// spec.autoscaling and status.autoscaling: the operator sizes a Deployment's
// fleet from the load rtcd reports (docs/autoscaling.md explains the signal,
// the defaults and the GitOps contract).
import { bool, int, list, obj, str, type Schema } from "./openapi.ts";

export const DEFAULT_MIN_REPLICAS = 2;
export const DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS = 600;
export const DEFAULT_BUFFER_PODS = 1;

interface AutoscalingView {
  minReplicas?: number;
  maxReplicas?: number;
  targetCPUPercent?: number;
  targetSessionsPerPod?: number;
}

export const autoscaling: Schema = obj(
  "Size the Deployment from the load rtcd reports: the larger of CPU against target and sessions against target decides; growth is immediate, shrinking waits for scaleDownStabilizationSeconds and removes the emptiest pods first. When enabled, spec.replicas must be unset: the operator owns the Deployment's replicas. Not allowed for a DaemonSet.",
  {
    enabled: bool(
      "Autoscale (default true when the block is present; false keeps the settings but hands replicas back to spec.replicas).",
      { default: true },
    ),
    minReplicas: int("Fewest pods (default 2: one per zone survives a zone outage).", {
      default: DEFAULT_MIN_REPLICAS,
      minimum: 1,
      maximum: 1000,
    }),
    maxReplicas: int("Most pods.", { minimum: 1, maximum: 1000 }),
    targetCPUPercent: int(
      "Target CPU use per pod, in percent of the pod's CPU limit, as rtcd's /system cpu_load reports it (our rtcd measures against its cgroup budget). Needs spec.resources.limits.cpu. 70 leaves room for a call to grow.",
      { minimum: 1, maximum: 100 },
    ),
    targetSessionsPerPod: int(
      "Target RTC sessions (participants) per pod, from rtcd_rtc_sessions_total. The signal that works with Mattermost's rtcd image, whose cpu_load measures the node.",
      { minimum: 1, maximum: 100000 },
    ),
    scaleDownStabilizationSeconds: int(
      "Shrink only to the highest recommendation of this window (default 600): calls last minutes to hours, and a pod removed too early is paid for by the next burst.",
      { default: DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS, minimum: 0, maximum: 86400 },
    ),
    bufferPods: int(
      "Pods kept above what the load needs (default 1), so that a burst of new calls lands on a warm, idle pod while a new one starts. A count, not a fraction: a fraction of a small fleet rounds to nothing.",
      { default: DEFAULT_BUFFER_PODS, minimum: 0, maximum: 100 },
    ),
  },
  {
    tsName: "AutoscalingSpec",
    required: ["maxReplicas"],
    "x-kubernetes-validations": [
      {
        rule: "!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",
        message: "must not exceed spec.autoscaling.maxReplicas",
        fieldPath: ".minReplicas",
        check: (a: AutoscalingView) =>
          a.minReplicas === undefined || a.maxReplicas === undefined || a.minReplicas <= a.maxReplicas,
      },
      {
        rule: "has(self.targetCPUPercent) || has(self.targetSessionsPerPod)",
        message: "set targetCPUPercent, targetSessionsPerPod or both",
        reason: "FieldValueRequired",
        check: (a: AutoscalingView) =>
          a.targetCPUPercent !== undefined || a.targetSessionsPerPod !== undefined,
      },
    ],
  },
);

interface SpecView {
  deploymentType?: string;
  replicas?: number;
  autoscaling?: { enabled?: boolean; targetCPUPercent?: number };
  resources?: { limits?: Record<string, unknown> };
}

const ON = "(has(self.autoscaling) && has(self.autoscaling.enabled) && self.autoscaling.enabled)";
const on = (s: SpecView) => s.autoscaling !== undefined && s.autoscaling.enabled !== false;

/** Rules on spec that tie autoscaling to the other fields. */
export const autoscalingSpecRules = [
  {
    rule: `!${ON} || !has(self.deploymentType) || self.deploymentType != 'DaemonSet'`,
    message: "not allowed when spec.deploymentType is DaemonSet (a DaemonSet runs one pod per node)",
    fieldPath: ".autoscaling",
    reason: "FieldValueForbidden" as const,
    check: (s: SpecView) => !on(s) || s.deploymentType !== "DaemonSet",
  },
  {
    rule: `!${ON} || !has(self.replicas)`,
    message: "must be unset when spec.autoscaling.enabled is true: the operator owns the replica count",
    fieldPath: ".replicas",
    reason: "FieldValueForbidden" as const,
    check: (s: SpecView) => !on(s) || s.replicas === undefined,
  },
  {
    rule: "!has(self.autoscaling) || !has(self.autoscaling.targetCPUPercent) || (has(self.resources) && has(self.resources.limits) && 'cpu' in self.resources.limits)",
    message: "needs spec.resources.limits.cpu: rtcd's cpu_load is measured against the pod's CPU budget",
    fieldPath: ".autoscaling.targetCPUPercent",
    reason: "FieldValueRequired" as const,
    check: (s: SpecView) =>
      s.autoscaling?.targetCPUPercent === undefined || s.resources?.limits?.cpu !== undefined,
  },
];

const count = (what: string): Schema => int(what, { minimum: 0 });

export const autoscalingStatus: Schema = obj(
  "What the autoscaler saw and decided (present while spec.autoscaling is enabled).",
  {
    desiredReplicas: count("Replicas the autoscaler asks for now."),
    recommendedReplicas: count("What the load alone asks for (before the scale-down window)."),
    readyPods: count("Ready pods that take new calls."),
    drainingPods: count("Pods stopping: out of DNS, finishing their calls."),
    sampledPods: count("Ready pods whose load was read at the last sample."),
    sessions: count("RTC sessions on the ready pods now."),
    calls: count("Calls on the ready pods now, when rtcd reports them."),
    cpuPercent: count("Mean CPU use of the sampled pods, in percent of their CPU limit."),
    sessionsPerPod: count("Mean sessions per sampled pod."),
    loadPercent: count(
      "Load against target: the larger of CPU and sessions, in percent of its target (100 means at target).",
    ),
    headroomSessions: count(
      "Sessions the ready pods can still take at target before the fleet must grow (the buffer pods included).",
    ),
    reason: str("Why the autoscaler asks for desiredReplicas.", { maxLength: 1024 }),
    lastScaleTime: str("When the autoscaler last changed the replicas.", { format: "date-time" }),
    draining: list(
      "Pods that are stopping and what they still hold.",
      obj(
        "A draining pod.",
        {
          pod: str("Pod name.", { maxLength: 253 }),
          sessions: count("Sessions it still holds, if read."),
          calls: count("Calls it still holds, if read."),
        },
        { required: ["pod"] },
      ),
      { maxItems: 100, "x-kubernetes-list-type": "atomic" },
    ),
  },
  { tsName: "AutoscalingStatus" },
);
