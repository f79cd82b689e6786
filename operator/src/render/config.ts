// rtcd's configuration: non-secret RTCD_* variables in a ConfigMap (whose
// checksum rolls the pods on change), secret ones as secretKeyRef env entries.
import { createHash } from "node:crypto";
import type { KubernetesObject, V1EnvVar } from "@kubernetes/client-node";
import { KEYS } from "@mattermost-rtcd/rtcd/config/schema";
import type { DefaultedMattermostRTCD } from "../api/index.ts";
import { RESOURCES } from "../api/resources.ts";
import { DATA_DIR, TLS_DIR, configMapName, meta, object, sortKeys, tlsEnabled } from "./names.ts";
import { adminSecretKey, adminSecretName } from "./secrets.ts";
import { listenPort, listensOnNodePorts, mediaWorkers } from "./media-ports.ts";

/** Seconds between rtcd's own drain deadline and the kubelet's SIGKILL, for the last `close` messages. */
export const DRAIN_MARGIN_SECONDS = 10;

/** rtcd's environment variable for a TOML key, from rtcd's own config schema (one list of names). */
function envName(path: string): string {
  const key = KEYS.find((k) => k.path.join(".") === path);
  if (!key) throw new Error(`rtcd has no configuration key ${path}`);
  return key.env;
}

export const ENV = {
  listen: envName("api.http.listen_address"),
  tls: envName("api.http.tls.enable"),
  tlsCert: envName("api.http.tls.cert_file"),
  tlsKey: envName("api.http.tls.cert_key"),
  enableAdmin: envName("api.security.enable_admin"),
  adminKey: envName("api.security.admin_secret_key"),
  selfRegistration: envName("api.security.allow_self_registration"),
  udpPort: envName("rtc.ice_port_udp"),
  tcpPort: envName("rtc.ice_port_tcp"),
  hostOverride: envName("rtc.ice_host_override"),
  hostPortOverride: envName("rtc.ice_host_port_override"),
  iceServers: envName("rtc.ice_servers"),
  turnSecret: envName("rtc.turn.static_auth_secret"),
  turnExpiry: envName("rtc.turn.credentials_expiration_minutes"),
  store: envName("store.data_source"),
  logConsole: envName("logger.enable_console"),
  logLevel: envName("logger.console_level"),
  logJson: envName("logger.console_json"),
  logFile: envName("logger.enable_file"),
  drainDeadline: envName("drain.deadline_seconds"),
  mediaWorkers: envName("media.workers"),
} as const;

/** The ICE host override in rtcd's syntax: one host, or "external/internal" pairs. */
export function iceHostOverride(cr: DefaultedMattermostRTCD): string | undefined {
  const o = cr.spec.rtcd.iceHostOverride;
  if (!o) return undefined;
  if (o.host) return o.host;
  return o.mappings?.map((m) => `${m.external}/${m.internal}`).join(",");
}

export function configData(cr: DefaultedMattermostRTCD): Record<string, string> {
  const s = cr.spec;
  const r = s.rtcd;
  const grace = s.terminationGracePeriodSeconds;
  const data: Record<string, string> = {
    [ENV.listen]: `:${s.apiPort}`,
    [ENV.tls]: String(tlsEnabled(cr)),
    // Always on: the admin key (given or generated) is how clients get registered.
    [ENV.enableAdmin]: "true",
    [ENV.selfRegistration]: String(!!r.security.allowSelfRegistration),
    [ENV.udpPort]: String(listenPort(cr)),
    [ENV.tcpPort]: String(listenPort(cr)),
    [ENV.store]: `${DATA_DIR}/rtcd_db`,
    [ENV.logConsole]: "true",
    [ENV.logLevel]: r.logging.level,
    [ENV.logJson]: String(r.logging.format === "json"),
    // The root filesystem is read-only, and kubectl logs reads the console.
    [ENV.logFile]: "false",
    // Read by this project's rtcd only (Mattermost's ignores it): finish
    // draining just before the kubelet's SIGKILL.
    [ENV.drainDeadline]: String(Math.max(0, grace - DRAIN_MARGIN_SECONDS)),
  };
  if (tlsEnabled(cr)) {
    data[ENV.tlsCert] = `${TLS_DIR}/tls.crt`;
    data[ENV.tlsKey] = `${TLS_DIR}/tls.key`;
  }
  if (r.iceServers?.length)
    data[ENV.iceServers] = JSON.stringify(r.iceServers.map((i) => ({ urls: i.urls })));
  const override = iceHostOverride(cr);
  if (override) data[ENV.hostOverride] = override;
  // Clients reach the pod on the node port, so that is the port to advertise
  // (several workers listen on their node ports instead: media-ports.ts).
  if (s.networking.mode === "NodePort" && s.networking.nodePort !== undefined && !listensOnNodePorts(cr)) {
    data[ENV.hostPortOverride] = String(s.networking.nodePort);
  }
  // Unset for one worker, rtcd's default, so that one-worker pods stay as they were.
  if (mediaWorkers(cr) > 1) data[ENV.mediaWorkers] = String(mediaWorkers(cr));
  if (r.turn?.staticAuthSecretRef) data[ENV.turnExpiry] = String(r.turn.credentialsExpirationMinutes);
  return sortKeys(data);
}

export function configMap(cr: DefaultedMattermostRTCD, data: Record<string, string>): KubernetesObject {
  return object(RESOURCES.ConfigMap, meta(cr, configMapName(cr)), { data });
}

export function checksum(data: Record<string, string>): string {
  return createHash("sha256")
    .update(JSON.stringify(sortKeys(data)))
    .digest("hex");
}

/** Env entries the operator sets directly (the secret ones), before the user's. */
export function secretEnv(cr: DefaultedMattermostRTCD): V1EnvVar[] {
  const env: V1EnvVar[] = [
    {
      name: ENV.adminKey,
      valueFrom: { secretKeyRef: { name: adminSecretName(cr), key: adminSecretKey(cr) } },
    },
  ];
  const turn = cr.spec.rtcd.turn?.staticAuthSecretRef;
  if (turn)
    env.push({ name: ENV.turnSecret, valueFrom: { secretKeyRef: { name: turn.name, key: turn.key } } });
  return env;
}

/**
 * The container's env: ours, then the user's. A user entry with a name we set
 * replaces ours (listing a name twice would make server-side apply reject the
 * object), and is reported so that the override is never silent.
 */
export function containerEnv(
  cr: DefaultedMattermostRTCD,
  data: Record<string, string>,
  warnings: string[],
): V1EnvVar[] {
  const user = cr.spec.env ?? [];
  const userNames = new Set(user.map((e) => e.name));
  const ours = secretEnv(cr);
  for (const name of [...ours.map((e) => e.name), ...Object.keys(data)].sort()) {
    if (userNames.has(name)) {
      warnings.push(`spec.env: ${name} overrides the value the operator sets from the spec`);
    }
  }
  // An empty value is how the API returns "no value"; keeping "" would read as drift on every resync.
  const normalised = user.map((e) => (e.value === "" ? { ...e, value: undefined } : e));
  return [...ours.filter((e) => !userNames.has(e.name)), ...normalised];
}
