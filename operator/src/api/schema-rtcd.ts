// Spec fields for rtcd itself (typed settings instead of raw RTCD_* strings)
// and for how clients reach it (networking, PDB, monitoring).
import { isIP } from "node:net";
import { bool, int, intOrString, list, obj, str, stringMap, type Schema } from "./openapi.ts";

export const DEFAULT_ICE_SERVERS = [{ urls: ["stun:stun.global.calls.mattermost.com:3478"] }];

const secretKeyRef = (what: string, tsName?: string): Schema =>
  obj(
    `${what} A key of a Secret in the same namespace; its value reaches rtcd through an environment variable from the Secret, never through the ConfigMap or this resource.`,
    {
      name: str("Secret name.", { minLength: 1, maxLength: 253 }),
      key: str("Key in the Secret.", { minLength: 1, maxLength: 253 }),
    },
    { required: ["name", "key"], ...(tsName ? { tsName } : {}) },
  );

const ICE_URL_PREFIXES = { stun: ["stun:", "stuns:"], turn: ["turn:", "turns:"] };

const iceServer = obj(
  "A STUN or TURN server.",
  {
    urls: list(
      "URLs, all STUN (stun:, stuns:) or all TURN (turn:, turns:). TURN credentials are derived from spec.rtcd.turn.staticAuthSecretRef.",
      str("A URL.", { minLength: 1, maxLength: 512 }),
      { minItems: 1, maxItems: 8 },
    ),
  },
  {
    required: ["urls"],
    tsName: "ICEServer",
    "x-kubernetes-validations": [
      {
        rule: "self.urls.all(u, u.startsWith('stun:') || u.startsWith('stuns:')) || self.urls.all(u, u.startsWith('turn:') || u.startsWith('turns:'))",
        message: "urls must be all stun:/stuns: or all turn:/turns: URLs",
        fieldPath: ".urls",
        check: (s: { urls?: string[] }) =>
          Object.values(ICE_URL_PREFIXES).some((prefixes) =>
            (s.urls ?? []).every((u) => prefixes.some((p) => u.startsWith(p))),
          ),
      },
    ],
  },
);

const mapping = obj(
  "One NAT mapping: the address clients use, and the node-local address rtcd listens on.",
  {
    external: str("Public IP clients send media to.", { minLength: 1, maxLength: 45 }),
    internal: str("The node's (or pod's) own IP that the external one forwards to.", {
      minLength: 1,
      maxLength: 45,
    }),
  },
  {
    required: ["external", "internal"],
    tsName: "ICEHostMapping",
    "x-kubernetes-validations": [
      {
        rule: "isIP(self.external) && isIP(self.internal)",
        message: "external and internal must be IP addresses",
        check: (s: { external?: string; internal?: string }) =>
          isIP(s.external ?? "") !== 0 && isIP(s.internal ?? "") !== 0,
      },
    ],
  },
);

/** Most workers one pod may run: each opens two ports per pod (and node ports), which firewalls must allow. */
export const MAX_MEDIA_WORKERS = 64;

export const rtcd = obj(
  "rtcd's own settings, rendered as RTCD_* environment variables.",
  {
    mediaWorkers: int(
      "Media worker processes per pod (this project's rtcd only, RTCD_MEDIA_WORKERS), each on its own core. Worker i listens on its own port, spec.rtcPort + i, UDP and TCP; every networking mode exposes all of them (NodePort: node ports spec.networking.nodePort + i), and status.mediaPorts lists the ports to open. Mattermost's rtcd (mattermost/rtcd) listens on one port: 1 only.",
      { default: 1, minimum: 1, maximum: MAX_MEDIA_WORKERS },
    ),
    logging: obj(
      "Console logging (file logging is off: the root filesystem is read-only).",
      {
        level: str("RTCD_LOGGER_CONSOLELEVEL.", {
          enum: ["DEBUG", "INFO", "WARN", "ERROR"],
          default: "INFO",
        }),
        format: str("text, or json (RTCD_LOGGER_CONSOLEJSON).", { enum: ["text", "json"], default: "text" }),
      },
      { default: {}, tsName: "LoggingSpec" },
    ),
    iceServers: list(
      "STUN/TURN servers rtcd uses to find its public address (RTCD_RTC_ICESERVERS). Defaults to Mattermost's public STUN server, as in the official chart's example; set [] when spec.rtcd.iceHostOverride gives the address.",
      iceServer,
      { maxItems: 8, default: DEFAULT_ICE_SERVERS },
    ),
    iceHostOverride: obj(
      "The address rtcd advertises to clients (RTCD_RTC_ICEHOSTOVERRIDE): either one host for every pod, or per-node NAT mappings.",
      {
        host: str("An IP address or hostname advertised by every pod.", { minLength: 1, maxLength: 253 }),
        mappings: list(
          "Per-node mappings, rendered as rtcd's `external/internal,...` list: each pod advertises the external IP whose internal IP is one of its own addresses (with host networking, the node's IP).",
          mapping,
          { minItems: 1, maxItems: 64 },
        ),
      },
      {
        tsName: "ICEHostOverrideSpec",
        "x-kubernetes-validations": [
          {
            rule: "has(self.host) != has(self.mappings)",
            message: "set exactly one of host or mappings",
            check: (s: { host?: string; mappings?: unknown[] }) =>
              (s.host !== undefined) !== (s.mappings !== undefined),
          },
        ],
      },
    ),
    turn: obj(
      "TURN credentials for the TURN servers in spec.rtcd.iceServers.",
      {
        staticAuthSecretRef: secretKeyRef(
          "The TURN server's static auth secret (RTCD_RTC_TURNCONFIG_STATICAUTHSECRET).",
          "SecretKeyRef",
        ),
        credentialsExpirationMinutes: int("Lifetime of generated TURN credentials.", {
          default: 1440,
          minimum: 1,
          maximum: 10080,
        }),
      },
      { default: {}, tsName: "TURNSpec" },
    ),
    security: obj(
      "API security.",
      {
        allowSelfRegistration: bool(
          "Let any client register itself (RTCD_API_SECURITY_ALLOWSELFREGISTRATION). Off by default: register the Mattermost server's client with the admin key instead.",
          { default: false },
        ),
        adminSecretRef: secretKeyRef(
          "The admin key (RTCD_API_SECURITY_ADMINSECRETKEY). Unset: the operator generates Secret `<name>-admin` with key ADMIN_SECRET_KEY once and never rotates it.",
        ),
      },
      { default: {}, tsName: "SecuritySpec" },
    ),
    tls: obj(
      "HTTPS for the API (the endpoint becomes https://).",
      {
        enabled: bool("Serve the API over TLS.", { default: false }),
        secretName: str("A kubernetes.io/tls Secret (keys tls.crt and tls.key).", { maxLength: 253 }),
      },
      {
        default: {},
        tsName: "TLSSpec",
        "x-kubernetes-validations": [
          {
            rule: "!has(self.enabled) || !self.enabled || has(self.secretName)",
            message: "required when spec.rtcd.tls.enabled is true",
            fieldPath: ".secretName",
            check: (s: { enabled?: boolean; secretName?: string }) =>
              !s.enabled || s.secretName !== undefined,
          },
        ],
      },
    ),
  },
  { default: {}, tsName: "RTCDSettings" },
);

export const networking = obj(
  "How clients reach rtcd's RTC port. HostNetwork (default, as in the official chart): pods use their node's network and clients send media to the node. HostPort: the RTC port is a hostPort of the pod. NodePort / LoadBalancer: a `<name>-rtc` Service exposes it.",
  {
    mode: str("Networking mode.", {
      enum: ["HostNetwork", "HostPort", "NodePort", "LoadBalancer"],
      default: "HostNetwork",
      maxLength: 16,
    }),
    externalTrafficPolicy: str(
      "For NodePort and LoadBalancer: Local keeps the client's address and the node-to-pod path direct.",
      { enum: ["Local", "Cluster"], default: "Local" },
    ),
    nodePort: int(
      "NodePort mode: the node port for RTC (UDP and TCP share it; rtcd advertises it via RTCD_RTC_ICEHOSTPORTOVERRIDE).",
      { minimum: 30000, maximum: 32767 },
    ),
    loadBalancer: obj(
      "LoadBalancer mode settings. A load balancer cannot pin a call's media to the pod that hosts the call, so use one replica.",
      {
        annotations: stringMap("Annotations of the `<name>-rtc` Service (cloud load balancer settings)."),
        loadBalancerClass: str("Load balancer implementation.", { maxLength: 253 }),
        sourceRanges: list("Client CIDRs allowed.", str("A CIDR.", { maxLength: 64 }), { maxItems: 64 }),
      },
      { tsName: "LoadBalancerSpec" },
    ),
  },
  {
    default: {},
    tsName: "NetworkingSpec",
    "x-kubernetes-validations": [
      {
        rule: "!has(self.nodePort) || (has(self.mode) && self.mode == 'NodePort')",
        message: "only allowed when spec.networking.mode is NodePort",
        fieldPath: ".nodePort",
        check: (s: { mode?: string; nodePort?: number }) => s.nodePort === undefined || s.mode === "NodePort",
      },
      {
        rule: "!has(self.mode) || self.mode != 'NodePort' || has(self.nodePort)",
        message: "required when spec.networking.mode is NodePort (30000-32767)",
        fieldPath: ".nodePort",
        check: (s: { mode?: string; nodePort?: number }) => s.mode !== "NodePort" || s.nodePort !== undefined,
      },
      {
        rule: "!has(self.loadBalancer) || (has(self.mode) && self.mode == 'LoadBalancer')",
        message: "only allowed when spec.networking.mode is LoadBalancer",
        fieldPath: ".loadBalancer",
        check: (s: { mode?: string; loadBalancer?: unknown }) =>
          s.loadBalancer === undefined || s.mode === "LoadBalancer",
      },
    ],
  },
);

export const podDisruptionBudget = obj(
  "A PodDisruptionBudget, so that node drains evict rtcd pods one at a time. Unset enabled: on for a Deployment, off for a DaemonSet.",
  {
    enabled: bool("Create the PodDisruptionBudget."),
    minAvailable: intOrString("Pods that must stay available (number or percent)."),
    maxUnavailable: intOrString("Pods that may be unavailable (number or percent)."),
  },
  {
    default: { maxUnavailable: 1 },
    tsName: "PodDisruptionBudgetSpec",
    "x-kubernetes-validations": [
      {
        rule: "(has(self.enabled) && !self.enabled) || has(self.minAvailable) != has(self.maxUnavailable)",
        message: "set exactly one of minAvailable or maxUnavailable",
        check: (s: { enabled?: boolean; minAvailable?: unknown; maxUnavailable?: unknown }) =>
          s.enabled === false || (s.minAvailable !== undefined) !== (s.maxUnavailable !== undefined),
      },
    ],
  },
);

export const serviceMonitor = obj(
  "A Prometheus Operator ServiceMonitor for rtcd's /metrics (only when its CRD is installed; otherwise a warning Event).",
  {
    enabled: bool("Create the ServiceMonitor.", { default: false }),
    interval: str("Scrape interval.", { default: "30s", pattern: "^([0-9]+(ms|s|m|h))+$", maxLength: 32 }),
    labels: stringMap("Labels of the ServiceMonitor (for the Prometheus serviceMonitorSelector)."),
  },
  { default: {}, tsName: "ServiceMonitorSpec" },
);
