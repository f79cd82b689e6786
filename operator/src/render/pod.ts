// The rtcd pod template: ports per networking mode, probes per image,
// hardened security, and scheduling defaults from the official chart.
import type {
  V1Affinity,
  V1Container,
  V1ContainerPort,
  V1PodTemplateSpec,
  V1Probe,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { DefaultedMattermostRTCD, ProbeSpec } from "../api/index.ts";
import {
  CONFIG_CHECKSUM_ANNOTATION,
  SECRETS_CHECKSUM_ANNOTATION,
  DATA_DIR,
  TLS_DIR,
  configMapName,
  imageRef,
  isProjectRtcd,
  labels,
  nameOf,
  selectorLabels,
  serviceAccountName,
  sortKeys,
  tlsEnabled,
} from "./names.ts";
import { containerEnv } from "./config.ts";
import { workerPorts } from "./media-ports.ts";
import { readinessGates } from "./mattermost-secret.ts";

const ZONE = "topology.kubernetes.io/zone";

export function hostNetwork(cr: DefaultedMattermostRTCD): boolean {
  return cr.spec.networking.mode === "HostNetwork";
}

/**
 * The official chart's anti-affinity (required and preferred, per zone), but
 * matching only this instance's pods so that two MattermostRTCDs do not
 * block each other. A DaemonSet places its pods itself, so it gets none.
 */
export function defaultAffinity(cr: DefaultedMattermostRTCD): V1Affinity | undefined {
  if (cr.spec.deploymentType === "DaemonSet") return undefined;
  const term = { labelSelector: { matchLabels: selectorLabels(nameOf(cr)) }, topologyKey: ZONE };
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [term],
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: structuredClone(term) },
      ],
    },
  };
}

function ports(cr: DefaultedMattermostRTCD): V1ContainerPort[] {
  const s = cr.spec;
  // With host networking the API server requires hostPort == containerPort.
  const apiHost = s.networking.mode === "HostNetwork" ? { hostPort: s.apiPort } : {};
  const out: V1ContainerPort[] = [{ name: "api", containerPort: s.apiPort, ...apiHost, protocol: "TCP" }];
  // One UDP and one TCP port per media worker (media-ports.ts).
  for (const w of workerPorts(cr)) {
    const host = w.hostPort !== undefined ? { hostPort: w.hostPort } : {};
    out.push({ name: w.udpName, containerPort: w.containerPort, ...host, protocol: "UDP" });
    out.push({ name: w.tcpName, containerPort: w.containerPort, ...host, protocol: "TCP" });
  }
  return out;
}

export function probePaths(cr: DefaultedMattermostRTCD): { readiness: string; liveness: string } {
  const p = cr.spec.probes;
  const health =
    p.endpoints === "Health" || (p.endpoints !== "Version" && isProjectRtcd(cr))
      ? { readiness: "/readyz", liveness: "/healthz" }
      : { readiness: "/version", liveness: "/version" };
  return {
    readiness: p.readiness?.path ?? health.readiness,
    liveness: p.liveness?.path ?? health.liveness,
  };
}

function probe(cr: DefaultedMattermostRTCD, path: string, t: ProbeSpec | undefined): V1Probe {
  return {
    httpGet: { path, port: "api", scheme: tlsEnabled(cr) ? "HTTPS" : "HTTP" },
    initialDelaySeconds: t?.initialDelaySeconds,
    periodSeconds: t?.periodSeconds,
    timeoutSeconds: t?.timeoutSeconds,
    failureThreshold: t?.failureThreshold,
  };
}

/** The user's (or default) container security context, plus NET_BIND_SERVICE where it is needed. */
export function containerSecurityContext(cr: DefaultedMattermostRTCD): V1SecurityContext {
  const sc = structuredClone(cr.spec.securityContext ?? {}) as V1SecurityContext;
  const low = Math.min(cr.spec.apiPort, cr.spec.rtcPort) < 1024;
  // In a pod's own network namespace unprivileged ports start at 0; on the
  // host's they start at 1024, so binding below needs the capability.
  if (low && hostNetwork(cr)) {
    const add = sc.capabilities?.add ?? [];
    if (!add.includes("NET_BIND_SERVICE")) {
      sc.capabilities = { ...sc.capabilities, add: [...add, "NET_BIND_SERVICE"] };
    }
  }
  return sc;
}

export function podTemplate(
  cr: DefaultedMattermostRTCD,
  data: Record<string, string>,
  checksums: { config: string; secrets?: string },
  warnings: string[],
): V1PodTemplateSpec {
  const s = cr.spec;
  const paths = probePaths(cr);
  const mounts: V1VolumeMount[] = [{ name: "tmp", mountPath: DATA_DIR }];
  const volumes: V1Volume[] = [{ name: "tmp", emptyDir: {} }];
  if (tlsEnabled(cr)) {
    mounts.push({ name: "tls", mountPath: TLS_DIR, readOnly: true });
    // Not a default: the CRD requires secretName when TLS is enabled (validateOffline too).
    volumes.push({ name: "tls", secret: { secretName: s.rtcd.tls.secretName! } });
  }
  const container: V1Container = {
    name: "rtcd",
    image: imageRef(cr),
    imagePullPolicy: s.image.pullPolicy,
    ports: ports(cr),
    envFrom: [{ configMapRef: { name: configMapName(cr) } }],
    env: containerEnv(cr, data, warnings),
    readinessProbe: probe(cr, paths.readiness, s.probes.readiness),
    livenessProbe: probe(cr, paths.liveness, s.probes.liveness),
    // Quantities may be YAML numbers (cpu: 2); the API server accepts both forms.
    resources: s.resources as V1ResourceRequirements | undefined,
    securityContext: containerSecurityContext(cr),
    volumeMounts: mounts,
  };
  const affinity = s.affinity ?? defaultAffinity(cr);
  return {
    metadata: {
      labels: labels(nameOf(cr)),
      annotations: sortKeys({
        ...s.podAnnotations,
        [CONFIG_CHECKSUM_ANNOTATION]: checksums.config,
        ...(checksums.secrets ? { [SECRETS_CHECKSUM_ANNOTATION]: checksums.secrets } : {}),
      }),
    },
    spec: {
      serviceAccountName: serviceAccountName(cr),
      automountServiceAccountToken: false,
      // Service links would add RTCD_RTC_SERVICE_HOST and the like (from the
      // <name>-rtc Service) to rtcd's own RTCD_ variable namespace.
      enableServiceLinks: false,
      hostNetwork: hostNetwork(cr) || undefined,
      // Host-network pods still need cluster DNS (for STUN/TURN names behind a cluster resolver).
      dnsPolicy: hostNetwork(cr) ? "ClusterFirstWithHostNet" : undefined,
      dnsConfig: s.dnsConfig,
      terminationGracePeriodSeconds: s.terminationGracePeriodSeconds,
      securityContext: s.podSecurityContext,
      imagePullSecrets: s.imagePullSecrets?.length ? s.imagePullSecrets : undefined,
      priorityClassName: s.priorityClassName || undefined,
      nodeSelector: s.nodeSelector && Object.keys(s.nodeSelector).length ? s.nodeSelector : undefined,
      tolerations: s.tolerations?.length ? s.tolerations : undefined,
      affinity: affinity && Object.keys(affinity).length ? affinity : undefined,
      topologySpreadConstraints: s.topologySpreadConstraints?.length
        ? s.topologySpreadConstraints
        : undefined,
      // Not Ready until the operator has registered Mattermost's client on it.
      readinessGates: readinessGates(cr),
      containers: [container],
      volumes,
    },
  };
}
