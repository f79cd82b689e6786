// Names, labels and small facts about a MattermostRTCD that every renderer shares.
import type { KubernetesObject, V1ObjectMeta } from "@kubernetes/client-node";
import { DEFAULT_API_PORT, type DefaultedMattermostRTCD, type MattermostRTCD } from "../api/index.ts";
import { apiVersionOf, type ResourceType } from "../api/resources.ts";

export const APP_NAME = "mattermost-rtcd";
export const MANAGED_BY = "mattermost-rtcd-operator";
export const COMPONENT = "rtcd";
export const CONFIG_CHECKSUM_ANNOTATION = "rtcd.mattermost.com/config-checksum";
/**
 * A salted hash of the Secret values the pods read through secretKeyRef. A
 * changed TURN secret or admin key only reaches rtcd when its pods restart,
 * so a change of this annotation rolls them (old pods still drain their calls).
 */
export const SECRETS_CHECKSUM_ANNOTATION = "rtcd.mattermost.com/secrets-checksum";
export const ADMIN_SECRET_KEY = "ADMIN_SECRET_KEY";
export const TLS_DIR = "/etc/rtcd/tls";
export const DATA_DIR = "/tmp";

/** The labels that identify one instance's pods (and the workload selector, which is immutable). */
export function selectorLabels(name: string): Record<string, string> {
  return { "app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": name };
}

export function instanceSelector(name: string): string {
  return Object.entries(selectorLabels(name))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

export function labels(name: string): Record<string, string> {
  return {
    ...selectorLabels(name),
    "app.kubernetes.io/managed-by": MANAGED_BY,
    "app.kubernetes.io/component": COMPONENT,
  };
}

export function nameOf(cr: MattermostRTCD): string {
  return cr.metadata!.name!;
}

export function namespaceOf(cr: MattermostRTCD): string {
  return cr.metadata!.namespace ?? "default";
}

/** metadata for an object of this instance; extra labels never override ours. */
export function meta(
  cr: DefaultedMattermostRTCD,
  name: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1ObjectMeta {
  const m: V1ObjectMeta = {
    name,
    namespace: namespaceOf(cr),
    labels: sortKeys({ ...extra.labels, ...labels(nameOf(cr)) }),
  };
  if (extra.annotations && Object.keys(extra.annotations).length) m.annotations = sortKeys(extra.annotations);
  return m;
}

/** An object of one of the registered resource types (apiVersion and kind from the registry). */
export function object<T extends KubernetesObject>(
  type: ResourceType,
  metadata: V1ObjectMeta,
  rest: Omit<T, "apiVersion" | "kind" | "metadata">,
): KubernetesObject {
  return { apiVersion: apiVersionOf(type), kind: type.kind, metadata, ...rest } as KubernetesObject;
}

export function sortKeys<V>(o: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** This project's rtcd (readiness and drain built in), as opposed to Mattermost's image. */
export function isProjectRtcd(cr: MattermostRTCD): boolean {
  return /(^|\/)mattermost-rtcd-mediasoup$/.test(cr.spec?.image?.repository ?? "");
}

export function imageRef(cr: DefaultedMattermostRTCD): string {
  const { repository, tag } = cr.spec.image;
  // A digest pins the image; it joins with "@", not ":".
  return tag.startsWith("sha256:") ? `${repository}@${tag}` : `${repository}:${tag}`;
}

export function tlsEnabled(cr: MattermostRTCD): boolean {
  return !!cr.spec?.rtcd?.tls?.enabled;
}

export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";

export function endpoint(cr: MattermostRTCD, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string {
  const scheme = tlsEnabled(cr) ? "https" : "http";
  const host = `${nameOf(cr)}.${namespaceOf(cr)}.svc.${clusterDomain}`;
  return `${scheme}://${host}:${cr.spec?.apiPort ?? DEFAULT_API_PORT}`;
}

export function configMapName(cr: DefaultedMattermostRTCD): string {
  return `${nameOf(cr)}-config`;
}

export function rtcServiceName(cr: DefaultedMattermostRTCD): string {
  return `${nameOf(cr)}-rtc`;
}

export function serviceAccountName(cr: DefaultedMattermostRTCD): string {
  const sa = cr.spec.serviceAccount;
  return sa.name || (sa.create ? nameOf(cr) : "default");
}
