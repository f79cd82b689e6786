// The one definition of the MattermostRTCD API. The CRD (crds/), the
// TypeScript types (types.generated.ts), applyDefaults and validateOffline are
// all derived from these objects; `npm run generate` rewrites the files.
import { bool, int, list, obj, str, type CelRule, type Schema } from "./openapi.ts";
import {
  DEFAULT_GRACE_SECONDS,
  image,
  imagePullSecrets,
  podFields,
  probes,
  serviceAccount,
  updateStrategy,
} from "./schema-pod.ts";
import { networking, podDisruptionBudget, rtcd, serviceMonitor } from "./schema-rtcd.ts";
import { mattermostClient } from "./schema-mattermost.ts";
import { autoscaling, autoscalingSpecRules, autoscalingStatus } from "./schema-autoscaling.ts";

export const DEFAULT_API_PORT = 8045;
export const DEFAULT_RTC_PORT = 8443;
/** Used when spec.replicas is unset; not a schema default so that scaling owns the field. */
export const DEFAULT_REPLICAS = 2;

type SpecView = {
  deploymentType?: string;
  replicas?: number;
  apiPort?: number;
  rtcPort?: number;
  updateStrategy?: { type?: string; maxSurge?: unknown };
};

export const specSchema: Schema = obj(
  "Desired state of an rtcd deployment.",
  {
    paused: bool(
      "Stop reconciling: the operator leaves every object as it is (and reports Ready=False, reason Paused).",
      { default: false },
    ),
    image,
    imagePullSecrets,
    deploymentType: str(
      "Deployment (spec.replicas pods, spread over zones) or DaemonSet (one pod per matching node).",
      { enum: ["Deployment", "DaemonSet"], default: "Deployment", maxLength: 16 },
    ),
    replicas: int(
      "Pods of a Deployment (default 2). Not allowed for a DaemonSet, nor with spec.autoscaling enabled. Also set through the scale subresource (kubectl scale, HorizontalPodAutoscaler).",
      { minimum: 0, maximum: 1000 },
    ),
    autoscaling,
    updateStrategy,
    terminationGracePeriodSeconds: int(
      "Seconds a stopping pod may keep serving its calls before it is killed (5 hours, as in the official chart). A stopping pod leaves the API Service's DNS at once, so the Mattermost plugin places no new calls on it. This project's rtcd also turns /readyz to 503, refuses new calls and ends on its own 10 s before this deadline (RTCD_DRAIN_DEADLINESECONDS), closing the remaining sessions cleanly. Mattermost's rtcd has no deadline: it waits for its sessions and is killed when the grace period ends.",
      { default: DEFAULT_GRACE_SECONDS, minimum: 0, maximum: 604800 },
    ),
    apiPort: int("TCP port of rtcd's HTTP/WebSocket API (reached by the Mattermost server only).", {
      default: DEFAULT_API_PORT,
      minimum: 1,
      maximum: 65535,
    }),
    rtcPort: int("Port for media, UDP and TCP (RTCD_RTC_ICEPORTUDP and RTCD_RTC_ICEPORTTCP).", {
      default: DEFAULT_RTC_PORT,
      minimum: 80,
      maximum: 49151,
    }),
    ...podFields,
    probes,
    serviceAccount,
    rtcd,
    networking,
    podDisruptionBudget,
    serviceMonitor,
    mattermostClient,
  },
  {
    default: {},
    tsName: "MattermostRTCDSpec",
    "x-kubernetes-validations": [
      {
        rule: "!has(self.deploymentType) || self.deploymentType != 'DaemonSet' || !has(self.replicas)",
        message: "not allowed when spec.deploymentType is DaemonSet",
        fieldPath: ".replicas",
        reason: "FieldValueForbidden",
        check: (s: SpecView) => s.deploymentType !== "DaemonSet" || s.replicas === undefined,
      },
      {
        rule: "!has(self.apiPort) || !has(self.rtcPort) || self.apiPort != self.rtcPort",
        message: "must differ from spec.apiPort",
        fieldPath: ".rtcPort",
        check: (s: SpecView) => s.apiPort === undefined || s.apiPort !== s.rtcPort,
      },
      {
        rule: "!has(self.updateStrategy) || !has(self.updateStrategy.type) || self.updateStrategy.type != 'Recreate' || !has(self.deploymentType) || self.deploymentType != 'DaemonSet'",
        message: "Recreate is only valid for a Deployment",
        fieldPath: ".updateStrategy.type",
        check: (s: SpecView) => s.updateStrategy?.type !== "Recreate" || s.deploymentType !== "DaemonSet",
      },
      {
        rule: "!has(self.updateStrategy) || !has(self.updateStrategy.type) || self.updateStrategy.type != 'OnDelete' || (has(self.deploymentType) && self.deploymentType == 'DaemonSet')",
        message: "OnDelete is only valid for a DaemonSet",
        fieldPath: ".updateStrategy.type",
        check: (s: SpecView) => s.updateStrategy?.type !== "OnDelete" || s.deploymentType === "DaemonSet",
      },
      {
        rule: "!has(self.updateStrategy) || !has(self.updateStrategy.maxSurge) || !has(self.deploymentType) || self.deploymentType != 'DaemonSet'",
        message: "only allowed for a Deployment",
        fieldPath: ".updateStrategy.maxSurge",
        check: (s: SpecView) => s.updateStrategy?.maxSurge === undefined || s.deploymentType !== "DaemonSet",
      },
      ...autoscalingSpecRules,
    ],
  },
);

const condition = obj(
  "A condition in the Kubernetes convention (kstatus, Argo CD and Flux read Ready, Progressing, Degraded).",
  {
    type: str("Ready, Progressing or Degraded; Reconciling and Stalled (kstatus) only while True.", {
      maxLength: 64,
    }),
    status: str("True, False or Unknown.", { enum: ["True", "False", "Unknown"] }),
    reason: str("CamelCase reason.", { maxLength: 128 }),
    message: str("Human-readable detail.", { maxLength: 4096 }),
    lastTransitionTime: str("When status last changed.", { format: "date-time" }),
    observedGeneration: { ...int("metadata.generation this condition was computed for."), format: "int64" },
  },
  { required: ["type", "status"], tsName: "Condition" },
);

const count = (what: string): Schema => int(what, { minimum: 0 });

export const statusSchema: Schema = obj(
  "Observed state.",
  {
    observedGeneration: { ...int("metadata.generation of the spec last acted on."), format: "int64" },
    conditions: list(
      "Ready, Progressing and Degraded, plus kstatus's Reconciling and Stalled while True.",
      condition,
      {
        maxItems: 8,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
      },
    ),
    deploymentType: str("Kind of the running workload."),
    desiredReplicas: count("Pods wanted (spec.replicas, or the DaemonSet's scheduled nodes)."),
    replicas: count("Pods that exist (the scale subresource's status replicas)."),
    readyReplicas: count("Pods that are ready."),
    updatedReplicas: count("Pods running the current pod template."),
    availableReplicas: count("Pods ready for the minimum ready time."),
    selector: str("Label selector of the pods (the scale subresource's selector)."),
    endpoint: str("URL of rtcd's API for the Mattermost setting MM_CALLS_RTCD_SERVICE_URL."),
    autoscaling: autoscalingStatus,
  },
  { tsName: "MattermostRTCDStatus" },
);

/**
 * Checked on the whole object (CEL can read metadata.name there): Services
 * are named `<name>-rtc` and must be DNS-1035 labels of at most 63 characters.
 */
export const NAME_RULE = {
  rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]{0,57}[a-z0-9])?$')",
  message:
    "must be at most 59 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (it names Services such as <name>-rtc)",
  check: (name: string) => /^[a-z]([-a-z0-9]{0,57}[a-z0-9])?$/.test(name),
} satisfies CelRule;
