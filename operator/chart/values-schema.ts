// The one definition of the Helm chart's values: types, validation and the
// description of every key. `npm run generate` writes from it
// charts/mattermost-rtcd/values.schema.json (what helm checks values against)
// and the values table of charts/mattermost-rtcd/README.md. Defaults stay in
// values.yaml, the file helm reads them from; the table takes them from there.
import { def, definitions } from "./definitions.ts";
import {
  anyObject,
  bool,
  group,
  int,
  list,
  objects,
  oneOf,
  str,
  typed,
  type JsonSchema,
} from "./json-schema.ts";

const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const DNS_NAME = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const nullable = (schema: JsonSchema, description: string): JsonSchema => ({
  anyOf: [schema, { type: "null" }],
  description,
});

const image = group("The rtcd container image.", {
  repository: str(
    "Image repository. Our rtcd (a repository named `mattermost-rtcd-mediasoup`) gets drain-aware probes; `mattermost/rtcd` (Mattermost's image) works too.",
    { minLength: 1 },
  ),
  pullPolicy: oneOf(PULL_POLICIES, "Image pull policy."),
  tag: typed(["string", "number"], "Image tag; the chart's appVersion when empty."),
});

const serviceAccount = group("The pods' service account.", {
  create: bool("Create a service account."),
  annotations: def("stringMap", "Annotations on the created service account."),
  name: str(
    "Service account name; generated from the full name when empty and `create` is true, `default` when empty and `create` is false.",
  ),
  automount: bool("Mount the service account token in the pods (rtcd does not use the Kubernetes API)."),
});

const networking = group("How pods are networked.", {
  hostNetwork: bool(
    "Run pods in their node's network namespace: clients send media straight to the node. Turn off for NodePort or LoadBalancer mode.",
  ),
  useHostPort: bool(
    "Declare the API and RTC ports as hostPorts (one pod per node and port). Used with hostNetwork, or with service.type ClusterIP; ignored in NodePort and LoadBalancer modes.",
  ),
});

const probe = (which: "Liveness" | "Readiness", field: string) =>
  def(field === "initialDelaySeconds" ? "probeSeconds" : "probeCount", `${which} probe ${field}.`);
const probeTimings = (which: "Liveness" | "Readiness"): Record<string, JsonSchema> => {
  const prefix = which.toLowerCase();
  const out: Record<string, JsonSchema> = {};
  for (const field of ["initialDelaySeconds", "failureThreshold", "periodSeconds", "timeoutSeconds"]) {
    out[`${prefix}Probe${field[0]!.toUpperCase()}${field.slice(1)}`] = probe(which, field);
  }
  return out;
};

const configuration = group("The rtcd workload.", {
  replicas: int("Number of pods (deploymentType deployment only).", { minimum: 0 }),
  mediaWorkers: int(
    "Media workers per pod of our rtcd (RTCD_MEDIA_WORKERS), one core each. Worker i listens on service.RTCport + i, UDP and TCP, and every mode exposes each worker's port: hostPorts, a Service port per worker (NodePort: service.nodePorts.rtc + i, which the workers then listen on and advertise). Mattermost's rtcd (mattermost/rtcd) has one port: 1 only.",
    { minimum: 1, maximum: 64 },
  ),
  environmentVariables: typed(
    "object",
    'rtcd settings as `RTCD_*` environment variables. Values may be plain (`true`, `DEBUG`, `[{"urls":[...]}]`) or quoted the way the official chart needed (`"\\"true\\""`, `"\'[...]\'"`): a value wrapped in matching quotes is unquoted. RTCD_API_SECURITY_ADMINSECRETKEY and RTCD_RTC_TURNCONFIG_STATICAUTHSECRET are moved to the Secret `<fullname>-env` and read through secretKeyRef. Unless set here, the chart sets RTCD_LOGGER_ENABLEFILE false (read-only root filesystem) and RTCD_DRAIN_DEADLINESECONDS (the grace period minus 10 s).',
    {
      propertyNames: { pattern: "^[-._a-zA-Z][-._a-zA-Z0-9]*$" },
      additionalProperties: typed(["string", "number", "boolean", "null"]),
    },
  ),
  extraEnv: list(
    def("envVar"),
    "More environment variables as full EnvVar entries (e.g. `valueFrom.secretKeyRef` for RTCD_API_SECURITY_ADMINSECRETKEY); they come last and win over the rest.",
  ),
  envFrom: objects("EnvFromSource entries (whole ConfigMaps or Secrets of RTCD_* variables)."),
  maxUnavailable: def(
    "intOrPercent",
    "Pods that may be down at once during a rolling update (a number or a percentage).",
  ),
  updateStrategy: oneOf(
    ["RollingUpdate", "Recreate", "OnDelete"],
    "Update strategy: RollingUpdate, Recreate (Deployment) or OnDelete (DaemonSet, or the StatefulSet of per-replica load balancers).",
  ),
  terminationGracePeriod: int(
    "Seconds a stopping pod keeps serving its calls before it is killed. Our rtcd closes the remaining calls 10 s before.",
    { minimum: 0 },
  ),
  extraVolumes: objects("Extra pod volumes (e.g. a Secret with TLS certificates)."),
  extraVolumeMounts: objects(
    "Extra volume mounts in the rtcd container. A mount at /tmp replaces the chart's emptyDir there.",
  ),
  ...probeTimings("Liveness"),
  ...probeTimings("Readiness"),
  probes: group("What the probes call.", {
    endpoints: oneOf(
      ["auto", "drainAware", "version"],
      "`drainAware`: liveness /healthz, readiness /readyz (fails while draining, so the plugin sends no new calls). `version`: both on /version (rtcd v1.2.6 has nothing else). `auto`: drainAware for a repository named `mattermost-rtcd-mediasoup`, version otherwise.",
    ),
    scheme: oneOf(
      ["auto", "HTTP", "HTTPS"],
      "Scheme of the probes, the ServiceMonitor and the test hook. `auto`: HTTPS when environmentVariables.RTCD_API_HTTP_TLS_ENABLE is true.",
    ),
    media: group(
      "Operator mode only: the operator's synthetic call on each pod, over UDP and TCP (the MattermostRTCD's spec.probes.media, condition MediaReachable; docs/observability.md).",
      {
        intervalSeconds: int("Seconds between probes of a pod; 0 turns the probe off.", { minimum: 0 }),
        timeoutSeconds: int("Seconds each transport's call may take.", { minimum: 1, maximum: 60 }),
      },
    ),
  }),
});

const nodePort = (description: string) =>
  typed(["integer", "null"], description, { minimum: 1, maximum: 65535 });

const service = group("The Service(s) in front of rtcd.", {
  type: oneOf(
    ["ClusterIP", "NodePort", "LoadBalancer"],
    "ClusterIP (with hostNetwork: media goes to the nodes), NodePort (media to each node's service.nodePorts.rtc, one pod per node) or LoadBalancer (media through a load balancer; see perReplicaLoadBalancer for more than one replica).",
  ),
  clusterIP: str(
    "`None` makes the ClusterIP Service headless, which the Calls plugin needs to find each rtcd host. Ignored for NodePort and LoadBalancer when `None`.",
  ),
  externalTrafficPolicy: oneOf(
    ["Local", "Cluster"],
    "externalTrafficPolicy of NodePort and LoadBalancer Services. Local keeps the client's address and, in NodePort mode, delivers media to the pod on the node it was sent to.",
  ),
  annotations: def(
    "nullableStringMap",
    "Annotations on the Service (and on each per-replica load balancer), e.g. cloud load balancer settings.",
  ),
  APIport: def(
    "port",
    "Port of rtcd's HTTP/WebSocket API (the Calls plugin connects here). The chart sets RTCD_API_HTTP_LISTENADDRESS when it is not 8045.",
  ),
  RTCport: def(
    "port",
    "UDP and TCP port for call media. The chart sets RTCD_RTC_ICEPORTUDP/TCP when it is not 8443.",
  ),
  nodePorts: group("Fixed node ports.", {
    api: nodePort("Node port of the API (NodePort and LoadBalancer); allocated by Kubernetes when null."),
    rtc: nodePort(
      "Node port for media, UDP and TCP. Required in NodePort mode: rtcd advertises it (RTCD_RTC_ICEHOSTPORTOVERRIDE).",
    ),
  }),
  perReplicaLoadBalancer: group("LoadBalancer mode for more than one replica.", {
    enabled: bool(
      "One LoadBalancer Service per replica (`<fullname>-rtc-<i>`) so each client's media reaches the replica hosting its call; the replicas become a StatefulSet. Needs service.type LoadBalancer and networking.hostNetwork false.",
    ),
    iceHostOverride: str(
      "RTCD_RTC_ICEHOSTOVERRIDE for each replica: the address of its load balancer. `$(POD_NAME)` and `$(POD_INDEX)` are expanded per replica, e.g. `rtcd-$(POD_INDEX).calls.example.com`.",
    ),
    annotations: def(
      "stringMap",
      "Annotations on each replica's Service, with `$(POD_NAME)` and `$(POD_INDEX)` replaced, e.g. `external-dns.alpha.kubernetes.io/hostname: rtcd-$(POD_INDEX).calls.example.com`.",
    ),
  }),
});

const ingress = group("An Ingress to rtcd's API (for a Mattermost outside the cluster).", {
  enabled: bool("Create the Ingress."),
  ingressclassname: str("ingressClassName of the Ingress."),
  classname: str("Alias of ingressclassname (the spelling in Mattermost's deployment guide); wins when set."),
  annotations: def(
    "nullableStringMap",
    "Annotations on the Ingress (e.g. long proxy timeouts for the WebSocket; backend-protocol HTTPS when rtcd serves TLS).",
  ),
  hosts: list(
    group(undefined, { host: str(), paths: list(str()) }),
    'Rules: `[{host, paths: ["/"]}]`, all to the API port.',
  ),
  tls: list(
    group(undefined, { hosts: list(str()), secretName: str() }),
    "TLS: `[{hosts: [...], secretName}]`.",
  ),
});

const podDisruptionBudget = group("A PodDisruptionBudget limiting voluntary evictions (node drains).", {
  enabled: bool("Create the PodDisruptionBudget."),
  maxUnavailable: nullable(def("intOrPercent"), "Pods that may be evicted at once."),
  minAvailable: nullable(
    def("intOrPercent"),
    "Pods that must stay; set maxUnavailable to null when you use it.",
  ),
});

const autoscaling = group(
  "Operator mode only, deployment only: the operator sizes the Deployment from its pods' load (the MattermostRTCD's spec.autoscaling; docs/autoscaling.md). configuration.replicas is then ignored.",
  {
    enabled: bool("Let the operator size the fleet."),
    minReplicas: int("Fewest pods.", { minimum: 1 }),
    maxReplicas: int("Most pods.", { minimum: 1 }),
    targetSessionsPerPod: nullable(
      { type: "integer", minimum: 1 },
      "Sessions per pod to aim for (works with either rtcd image).",
    ),
    targetCPUPercent: nullable(
      { type: "integer", minimum: 1, maximum: 100 },
      "CPU per pod to aim for, against resources.limits.cpu (which it needs).",
    ),
    scaleDownStabilizationSeconds: int("Shrink only to the highest recommendation of this window.", {
      minimum: 0,
    }),
    bufferPods: int("Spare pods kept on top of what the load needs, so a burst lands on warm pods.", {
      minimum: 0,
    }),
  },
);

const metrics = group("Prometheus scraping of rtcd's /metrics.", {
  serviceMonitor: group("A ServiceMonitor (Prometheus Operator).", {
    enabled: bool(
      "Create a ServiceMonitor (needs the monitoring.coreos.com CRDs). In operator mode, the operator creates it, and the chart adds a PodMonitor for the operator's own metrics (autoscaler, media probe); each only where the cluster serves the kind.",
    ),
    namespace: str("Namespace of the ServiceMonitor; the release's when empty."),
    labels: def("stringMap", "Extra labels, e.g. the one your Prometheus selects ServiceMonitors by."),
    interval: str("Scrape interval."),
    scrapeTimeout: str("Scrape timeout."),
    tlsConfig: anyObject("Endpoint tlsConfig when rtcd serves TLS."),
    relabelings: objects("Endpoint relabelings."),
  }),
  prometheusRule: group(
    "A PrometheusRule (Prometheus Operator) with rtcd's alerts (files/monitoring/alerts.yaml; runbooks in docs/runbooks/).",
    {
      enabled: bool("Create the PrometheusRule (needs the monitoring.coreos.com CRDs)."),
      namespace: str("Namespace of the PrometheusRule; the release's when empty."),
      labels: def("stringMap", "Extra labels, e.g. the one your Prometheus selects rules by."),
      runbookBaseURL: str(
        "Where the runbooks are published: each alert's runbook_url becomes <runbookBaseURL>/<alert>.md. Empty: the path in this repository, docs/runbooks/<alert>.md.",
      ),
    },
  ),
});

const grafana = group("Grafana objects.", {
  dashboard: group(
    "A ConfigMap holding rtcd's dashboard (files/monitoring/dashboard.json) for Grafana's dashboard sidecar.",
    {
      enabled: bool("Create the dashboard ConfigMap."),
      namespace: str("Namespace of the ConfigMap (the one the sidecar watches); the release's when empty."),
      labels: def(
        "stringMap",
        'Labels on the ConfigMap; the sidecar finds dashboards by one (the Grafana chart\'s default is grafana_dashboard: "1").',
      ),
      annotations: def("stringMap", "Annotations, e.g. the sidecar's folder annotation."),
    },
  ),
});

const tests = group("The `helm test` hook, which checks that rtcd answers /version.", {
  enabled: bool("Render the test hook."),
  image: group("Image with sh and curl.", {
    repository: str("Test image repository.", { minLength: 1 }),
    tag: str("Test image tag.", { minLength: 1 }),
    pullPolicy: oneOf(PULL_POLICIES, "Test image pull policy."),
  }),
  nodeSelector: def("stringMap", "Node labels the test pod requires."),
  tolerations: objects("Taints the test pod tolerates."),
});

const operator = group(
  "Operator mode: install the MattermostRTCD operator and a MattermostRTCD resource rendered from these values, instead of the workload.",
  {
    enabled: bool(
      "Install the operator (Deployment, RBAC, CRD) and render a MattermostRTCD instead of the rtcd workload, Services, PDB and ServiceMonitor (the operator makes those).",
    ),
    image: group("The operator image.", {
      repository: str("Operator image repository.", { minLength: 1 }),
      tag: typed(["string", "number"], "Operator image tag; the chart's appVersion when empty."),
      pullPolicy: oneOf(PULL_POLICIES, "Operator image pull policy."),
    }),
    command: list(
      str(),
      "Container command; empty runs the image's entrypoint (the operator's `run` command gets the arguments).",
    ),
    replicas: int("Operator replicas; with more than one, leader election lets one reconcile at a time.", {
      minimum: 0,
    }),
    watchNamespaces: list(
      str(undefined, { pattern: DNS_LABEL, maxLength: 63 }),
      "Namespaces the operator reconciles (one `--namespace` each), with a Role in each and no cluster-wide rights. Empty: the release namespace only. Must include the release namespace when the chart renders the MattermostRTCD.",
      { uniqueItems: true },
    ),
    clusterWide: bool(
      "Reconcile every namespace, with a ClusterRole, instead of the release namespace (or `operator.watchNamespaces`, which must then be empty).",
    ),
    crds: group("The MattermostRTCD CRD.", {
      install: bool(
        "Install the CRD as part of the release, and update it on every upgrade (Helm never upgrades a chart's crds/ folder, so it is a template here). It is kept on uninstall: deleting it would delete every MattermostRTCD in the cluster.",
      ),
    }),
    customResource: oneOf(
      ["auto", "always", "never"],
      "`auto`: render the MattermostRTCD when the cluster serves its CRD at render time (Helm cannot create a CRD and a resource of it in one release install, so the first install creates the CRD and the operator, and the next `helm upgrade` the MattermostRTCD). `always`: render it regardless (for `helm template` with a CRD you install first). `never`: install only the operator.",
    ),
    logLevel: oneOf(["debug", "info", "warn", "error"], "Operator log level."),
    metricsPort: def("port", "Port of the operator's /metrics."),
    healthPort: def("port", "Port of the operator's /healthz and /readyz."),
    serviceAccount: group("The operator's service account.", {
      create: bool("Create the operator's service account."),
      name: str("Its name; `<fullname>-operator` when empty and create is true."),
      annotations: def("stringMap", "Annotations on it (e.g. for workload identity)."),
    }),
    resources: def("resources", "Operator container resources."),
    podAnnotations: def("stringMap", "Annotations on the operator pods."),
    priorityClassName: str("PriorityClass of the operator pods."),
    nodeSelector: def("stringMap", "Node labels the operator pods require."),
    tolerations: list(def("toleration"), "Operator pod tolerations."),
    affinity: def("affinity", "Operator pod affinity."),
  },
);

/** The chart's values.schema.json, key order as in values.yaml's documentation. */
export const valuesSchema: JsonSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $comment:
    "Generated by operator/scripts/generate.ts from operator/chart/values-schema.ts. Do not edit: change that file and run `npm run generate`.",
  title: "mattermost-rtcd chart values",
  ...group(undefined, {
    image,
    imagePullSecrets: list(
      group(undefined, { name: str() }, { required: ["name"] }),
      "Secrets for pulling the images, as `[{name: ...}]`.",
    ),
    nameOverride: str(
      "Replaces the chart name in object names and in the `app.kubernetes.io/name` label (the anti-affinity rules select on that label).",
    ),
    fullnameOverride: str(
      "Replaces the full object name (release name, plus the chart name unless the release name contains it).",
    ),
    serviceAccount,
    podAnnotations: def("stringMap", "Annotations on the rtcd pods."),
    podLabels: def("stringMap", "Extra labels on the rtcd pods (the selector labels are always set)."),
    podSecurityContext: def(
      "podSecurityContext",
      "Pod security context, merged key by key with the defaults (non-root 65532, seccomp RuntimeDefault); `{}` keeps the defaults, a key set to null drops it.",
    ),
    securityContext: def(
      "securityContext",
      "Container security context, merged key by key with the defaults (read-only root filesystem, no privilege escalation, all capabilities dropped); `{}` keeps the defaults, a key set to null drops it.",
    ),
    deploymentType: oneOf(
      ["deployment", "daemonset"],
      "`deployment` (configuration.replicas pods) or `daemonset` (one pod on each node that nodeSelector, affinity and tolerations allow).",
    ),
    networking,
    configuration,
    service,
    ingress,
    resources: def("resources", "Container resources (requests, limits)."),
    nodeSelector: def("stringMap", "Node labels the pods require."),
    // The official chart's default is `tolerations: {}`: an empty map still means none.
    tolerations: typed(
      ["array", "object"],
      "Pod tolerations. `{}` (the official chart's default) means none.",
      {
        maxProperties: 0,
        items: def("toleration"),
      },
    ),
    dnsConfig: def("dnsConfig", "Pod dnsConfig (nameservers, searches, options)."),
    affinity: def(
      "affinity",
      "Pod affinity, merged with the default (one pod per node, preferably spread over zones): your podAntiAffinity replaces it, `podAntiAffinity: null` drops it.",
    ),
    topologySpreadConstraints: objects(
      "Pod topologySpreadConstraints; an entry without labelSelector selects this release's pods.",
    ),
    priorityClassName: str("PriorityClass of the rtcd pods."),
    podDisruptionBudget,
    autoscaling,
    metrics,
    grafana,
    tests,
    clusterDomain: str(
      "The cluster's DNS domain: the rtcd URL for the Mattermost server (NOTES, the MattermostRTCD's status.endpoint) is <service>.<namespace>.svc.<clusterDomain>.",
      { pattern: DNS_NAME },
    ),
    operator,
  }),
  definitions,
};
