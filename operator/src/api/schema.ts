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
import { MAX_MEDIA_WORKERS, networking, podDisruptionBudget, rtcd, serviceMonitor } from "./schema-rtcd.ts";
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
  image?: { repository?: string };
  rtcd?: { mediaWorkers?: number };
  networking?: { mode?: string; nodePort?: number };
};

// Mattermost's image, under any registry or mirror prefix.
const MATTERMOST_RTCD_IMAGE = "(^|/)mattermost/rtcd$";
const NODE_PORT_MAX = 32767;

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
      {
        rule: `!has(self.rtcd) || !has(self.rtcd.mediaWorkers) || self.rtcd.mediaWorkers == 1 || !has(self.image) || !has(self.image.repository) || !self.image.repository.matches('${MATTERMOST_RTCD_IMAGE}')`,
        message:
          "must be 1 with Mattermost's rtcd image (mattermost/rtcd), which listens on one RTC port; more workers need this project's rtcd (mattermost-rtcd-mediasoup)",
        fieldPath: ".rtcd.mediaWorkers",
        check: (s: SpecView) =>
          (s.rtcd?.mediaWorkers ?? 1) === 1 ||
          !new RegExp(MATTERMOST_RTCD_IMAGE).test(s.image?.repository ?? ""),
      },
      {
        rule: `!has(self.networking) || !has(self.networking.nodePort) || !has(self.rtcd) || !has(self.rtcd.mediaWorkers) || self.networking.nodePort + self.rtcd.mediaWorkers - 1 <= ${NODE_PORT_MAX}`,
        message:
          "with spec.rtcd.mediaWorkers N, the node ports nodePort to nodePort+N-1 must all lie in 30000-32767",
        fieldPath: ".networking.nodePort",
        check: (s: SpecView) =>
          s.networking?.nodePort === undefined ||
          s.networking.nodePort + (s.rtcd?.mediaWorkers ?? 1) - 1 <= NODE_PORT_MAX,
      },
      {
        // The apiPort == rtcPort case has its own rule (above) and message.
        rule: "!has(self.apiPort) || !has(self.rtcPort) || !has(self.rtcd) || !has(self.rtcd.mediaWorkers) || self.apiPort <= self.rtcPort || self.apiPort >= self.rtcPort + self.rtcd.mediaWorkers",
        message:
          "must lie outside spec.rtcPort to spec.rtcPort+spec.rtcd.mediaWorkers-1 (the workers' RTC ports)",
        fieldPath: ".apiPort",
        // The API server checks the defaulted object; offline, the spec as written.
        check: (s: SpecView) => {
          const api = s.apiPort ?? DEFAULT_API_PORT;
          const rtc = s.rtcPort ?? DEFAULT_RTC_PORT;
          return api <= rtc || api >= rtc + (s.rtcd?.mediaWorkers ?? 1);
        },
      },
      {
        rule: "!has(self.apiPort) || !has(self.networking) || !has(self.networking.mode) || self.networking.mode != 'NodePort' || !has(self.networking.nodePort) || !has(self.rtcd) || !has(self.rtcd.mediaWorkers) || self.rtcd.mediaWorkers == 1 || self.apiPort < self.networking.nodePort || self.apiPort >= self.networking.nodePort + self.rtcd.mediaWorkers",
        message:
          "must lie outside spec.networking.nodePort to nodePort+spec.rtcd.mediaWorkers-1 (with several workers in NodePort mode, the ports they listen on)",
        fieldPath: ".apiPort",
        check: (s: SpecView) => {
          const n = s.rtcd?.mediaWorkers ?? 1;
          const np = s.networking?.nodePort;
          if (s.networking?.mode !== "NodePort" || np === undefined || n === 1) return true;
          const api = s.apiPort ?? DEFAULT_API_PORT;
          return api < np || api >= np + n;
        },
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
    mediaPorts: obj(
      "Where clients send call media, i.e. the ports to open in firewalls and security groups: one per media worker (spec.rtcd.mediaWorkers), each for UDP and TCP.",
      {
        openOn: str("Nodes (the nodes running rtcd: HostNetwork, HostPort, NodePort) or LoadBalancer.", {
          enum: ["Nodes", "LoadBalancer"],
        }),
        ports: list(
          "The port of each worker, as clients reach it (a host port, a node port, or the load balancer's port).",
          obj(
            "One worker's port, UDP and TCP.",
            {
              worker: int("Worker index (0 for the first).", { minimum: 0 }),
              port: int("Port, UDP and TCP.", { minimum: 1, maximum: 65535 }),
            },
            { required: ["worker", "port"], tsName: "MediaPort" },
          ),
          { maxItems: MAX_MEDIA_WORKERS },
        ),
        summary: str("The same in words, e.g. `UDP and TCP 8443-8445 on every node running rtcd`.", {
          maxLength: 256,
        }),
      },
      { tsName: "MediaPortsStatus" },
    ),
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
