// Spec fields that shape the pod: image, scheduling, security, probes. The
// defaults are the official Helm chart's (the seed), hardened where the chart
// left a field empty (security contexts).
import { VERSION_INFO } from "../version.ts";
import { bool, int, intOrString, list, obj, opaque, str, stringMap, type Schema } from "./openapi.ts";

/**
 * Our rtcd, at the version released with this operator (they are versioned and
 * released together), as the chart's default. The repository names no
 * registry, like the chart's default: the public registry is the release
 * workflow's REGISTRY variable, not yet decided; once it is, prefix it here and
 * in the chart's values.yaml. Mattermost's `mattermost/rtcd` stays a
 * supported, explicit choice.
 */
export const DEFAULT_IMAGE = {
  repository: "mattermost-rtcd-mediasoup",
  tag: VERSION_INFO.version,
  pullPolicy: "IfNotPresent",
};

/** Seconds a stopping pod may keep serving its calls: the chart's 5 hours. */
export const DEFAULT_GRACE_SECONDS = 18000;

export const DEFAULT_POD_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  fsGroup: 65532,
  seccompProfile: { type: "RuntimeDefault" },
};

export const DEFAULT_CONTAINER_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

const NAME = { maxLength: 253, pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$" };

export const image = obj(
  "The rtcd container image. Probes and draining adapt to it: see spec.probes.",
  {
    repository: str(
      "Image repository. `mattermost/rtcd` is Mattermost's rtcd; a repository ending in `mattermost-rtcd-mediasoup` is this project's rtcd.",
      { default: DEFAULT_IMAGE.repository, minLength: 1, maxLength: 512 },
    ),
    tag: str("Image tag.", { default: DEFAULT_IMAGE.tag, minLength: 1, maxLength: 128 }),
    pullPolicy: str("Image pull policy.", {
      enum: ["Always", "IfNotPresent", "Never"],
      default: DEFAULT_IMAGE.pullPolicy,
    }),
  },
  { default: {}, tsName: "ImageSpec" },
);

export const imagePullSecrets = list(
  "Secrets with registry credentials for pulling the image.",
  obj(
    "A Secret in the same namespace.",
    { name: str("Secret name.", NAME) },
    { required: ["name"], tsName: "LocalObjectReference" },
  ),
  { maxItems: 16 },
);

export const updateStrategy = obj(
  "How pods are replaced on a change. RollingUpdate and Recreate apply to a Deployment, RollingUpdate and OnDelete to a DaemonSet.",
  {
    type: str("Strategy type.", {
      enum: ["RollingUpdate", "Recreate", "OnDelete"],
      default: "RollingUpdate",
      maxLength: 16,
    }),
    maxUnavailable: intOrString("Pods that may be unavailable during a rolling update (number or percent).", {
      default: 1,
    }),
    maxSurge: intOrString(
      "Extra pods a Deployment may create during a rolling update. Note that a pod using host ports or zone anti-affinity needs a free node or zone to surge into.",
    ),
  },
  { default: {}, tsName: "UpdateStrategySpec" },
);

export const DEFAULT_MEDIA_PROBE_INTERVAL_SECONDS = 300;
export const DEFAULT_MEDIA_PROBE_TIMEOUT_SECONDS = 10;

const probe = (which: string) =>
  obj(
    `${which} probe settings.`,
    {
      path: str("HTTP path; overrides the one spec.probes.endpoints picks.", {
        pattern: "^/",
        maxLength: 256,
      }),
      initialDelaySeconds: int("Seconds before the first probe.", { default: 30, minimum: 0 }),
      periodSeconds: int("Seconds between probes.", { default: 10, minimum: 1 }),
      timeoutSeconds: int("Seconds before a probe times out.", { default: 5, minimum: 1 }),
      failureThreshold: int("Failures in a row before the probe fails.", { default: 3, minimum: 1 }),
    },
    { default: {}, tsName: "ProbeSpec" },
  );

export const probes = obj(
  "Readiness and liveness probes (HTTP GET on the API port; HTTPS when spec.rtcd.tls is enabled).",
  {
    endpoints: str(
      "Auto: /readyz and /healthz for this project's rtcd (image repository ending in mattermost-rtcd-mediasoup), /version for any other image (Mattermost's rtcd serves no other health route). Health: always /readyz and /healthz. Version: always /version.",
      { enum: ["Auto", "Health", "Version"], default: "Auto" },
    ),
    readiness: probe("Readiness"),
    liveness: probe("Liveness"),
    media: obj(
      "The operator's synthetic call (condition MediaReachable): two sessions join a short call on each ready pod through rtcd's API and send audio to each other, once over UDP and once over TCP, against the address the pod advertises.",
      {
        intervalSeconds: int(
          "Seconds between probes of a pod (default 300); a pod is also probed as soon as it becomes ready. 0 turns the probe and the condition off.",
          { default: DEFAULT_MEDIA_PROBE_INTERVAL_SECONDS, minimum: 0, maximum: 86400 },
        ),
        timeoutSeconds: int(
          "Seconds each transport's call may take, from join to audio both ways (default 10).",
          {
            default: DEFAULT_MEDIA_PROBE_TIMEOUT_SECONDS,
            minimum: 1,
            maximum: 60,
          },
        ),
      },
      { default: {}, tsName: "MediaProbeSpec" },
    ),
  },
  { default: {}, tsName: "ProbesSpec" },
);

export const serviceAccount = obj(
  "The pods' ServiceAccount. rtcd never calls the Kubernetes API, so its token is not mounted.",
  {
    create: bool("Create a ServiceAccount named after the resource (or spec.serviceAccount.name).", {
      default: true,
    }),
    name: str("Name of the ServiceAccount. Empty: the resource's name when created, else `default`.", NAME),
    annotations: stringMap("Annotations of the created ServiceAccount (e.g. cloud IAM bindings)."),
  },
  { default: {}, tsName: "ServiceAccountSpec" },
);

/**
 * A Kubernetes quantity ("500m", "1Gi", 2), as the API server parses it; no
 * sign, since no resource amount is negative. Checked here so that a typo fails
 * when the CR is applied, not later when the operator applies the workload.
 */
export const QUANTITY_PATTERN =
  "^\\+?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

const quantities = {
  type: "object",
  description: "Resource name to quantity.",
  additionalProperties: { "x-kubernetes-int-or-string": true, pattern: QUANTITY_PATTERN, minimum: 0 },
  maxProperties: 16,
  tsType: "Record<string, string | number>",
} satisfies Schema;

/**
 * The capabilities rtcd may add: only NET_BIND_SERVICE, which a media or API
 * port below 1024 needs (the operator adds it itself in that case).
 */
export const ALLOWED_CAPABILITIES = ["NET_BIND_SERVICE"] as const;

// A MattermostRTCD must not be a way to get a privileged pod: whoever may
// create one would otherwise get root on a node through the operator's rights.
// CEL can only read fields the schema declares, so the security-relevant ones
// are declared here; the rest of each security context passes through as-is.
const notTrue = (what: string): Schema =>
  bool(`Must not be true: ${what}.`, {
    "x-kubernetes-validations": [
      { rule: "!self", message: `must not be true (${what})`, check: (v: boolean) => !v },
    ],
  });
const runAsUser = int("User ID the container runs as; never 0 (root).", {
  format: "int64",
  "x-kubernetes-validations": [
    { rule: "self != 0", message: "must not be 0: rtcd never runs as root", check: (v: number) => v !== 0 },
  ],
});
const runAsNonRoot = bool("Must not be false: rtcd never runs as root.", {
  "x-kubernetes-validations": [
    { rule: "self", message: "must not be false: rtcd never runs as root", check: (v: boolean) => v },
  ],
});
const capabilities = obj("Capabilities to add or drop.", {
  add: list(
    `Capabilities to add; only ${ALLOWED_CAPABILITIES.join(", ")}.`,
    str("A capability name.", { maxLength: 64 }),
    {
      maxItems: 16,
      "x-kubernetes-validations": [
        {
          rule: `self.all(c, c in [${ALLOWED_CAPABILITIES.map((c) => `'${c}'`).join(", ")}])`,
          message: `may only add ${ALLOWED_CAPABILITIES.join(", ")}: rtcd needs no other capability`,
          check: (v: string[]) => v.every((c) => (ALLOWED_CAPABILITIES as readonly string[]).includes(c)),
        },
      ],
    },
  ),
  drop: list("Capabilities to drop.", str("A capability name.", { maxLength: 64 }), { maxItems: 64 }),
});

export const podFields: Record<string, Schema> = {
  resources: obj(
    "Container resources. rtcd's load grows with the square of the participants: see the Calls performance guide.",
    { limits: quantities, requests: quantities },
    { tsName: "ResourcesSpec" },
  ),
  nodeSelector: stringMap("Node labels the pods must run on."),
  tolerations: list("Tolerations of the pods.", opaque("A toleration.", "V1Toleration"), {
    maxItems: 32,
    "x-kubernetes-list-type": "atomic",
  }),
  affinity: opaque(
    "Pod affinity. Unset: for a Deployment, the chart's rules scoped to this resource — required and preferred anti-affinity on topology.kubernetes.io/zone, one rtcd per zone; for a DaemonSet, none. Set `{}` to have no affinity at all.",
    "V1Affinity",
  ),
  topologySpreadConstraints: list(
    "Topology spread constraints of the pods.",
    opaque("A constraint.", "V1TopologySpreadConstraint"),
    { maxItems: 8, "x-kubernetes-list-type": "atomic" },
  ),
  dnsConfig: opaque(
    'DNS settings of the pods, e.g. `options: [{name: ndots, value: "1"}]`.',
    "V1PodDNSConfig",
  ),
  podAnnotations: stringMap("Annotations added to the pods."),
  priorityClassName: str("Priority class of the pods.", { maxLength: 253 }),
  podSecurityContext: opaque(
    "Pod security context. Replaces the default as a whole. Refused: runAsUser 0 and runAsNonRoot false.",
    "V1PodSecurityContext",
    { default: DEFAULT_POD_SECURITY_CONTEXT, properties: { runAsUser, runAsNonRoot } },
  ),
  securityContext: opaque(
    "Container security context. Replaces the default as a whole; NET_BIND_SERVICE is added when host networking binds a port below 1024. Refused: privileged, allowPrivilegeEscalation, running as root, adding any other capability.",
    "V1SecurityContext",
    {
      default: DEFAULT_CONTAINER_SECURITY_CONTEXT,
      properties: {
        privileged: notTrue("a privileged container is root on the node"),
        allowPrivilegeEscalation: notTrue("setuid binaries could gain rights the container was not given"),
        runAsUser,
        runAsNonRoot,
        capabilities,
      },
    },
  ),
  env: list(
    "Extra environment variables, added after the ones the operator sets. A name the operator sets is replaced by yours (with a warning Event).",
    {
      type: "object",
      description: "An environment variable (value or valueFrom).",
      required: ["name"],
      properties: { name: str("Variable name.", { minLength: 1, maxLength: 256 }) },
      "x-kubernetes-preserve-unknown-fields": true,
      tsType: "V1EnvVar",
    },
    { maxItems: 128, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] },
  ),
};
