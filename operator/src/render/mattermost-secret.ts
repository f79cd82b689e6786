// What Mattermost needs to reach rtcd, as a Secret its deployment reads with
// envFrom. The Calls plugin (server/rtcd.go, getRTCDClientConfig) reads
// MM_CALLS_RTCD_CLIENT_ID and MM_CALLS_RTCD_AUTH_KEY and, when those are
// empty, the credentials embedded in MM_CALLS_RTCD_SERVICE_URL
// (url.Parse's userinfo): we write all three, consistently, so either works.
import { createHash } from "node:crypto";
import type { KubernetesObject, V1PodReadinessGate } from "@kubernetes/client-node";
import type { MattermostRTCD } from "../api/index.ts";
import { RESOURCES } from "../api/resources.ts";
import { apiVersionOf } from "../api/resources.ts";
import { DEFAULT_CLUSTER_DOMAIN, endpoint, labels, nameOf, namespaceOf } from "./names.ts";

/** The pod condition the operator sets once the client logs in on that pod (a readiness gate). */
export const CLIENT_REGISTERED_CONDITION = "rtcd.mattermost.com/client-registered";
export const ENV_SERVICE_URL = "MM_CALLS_RTCD_SERVICE_URL";
export const ENV_CLIENT_ID = "MM_CALLS_RTCD_CLIENT_ID";
export const ENV_AUTH_KEY = "MM_CALLS_RTCD_AUTH_KEY";
/** rtcd refuses shorter keys (MIN_KEY_LEN) and bcrypt longer ones. */
export const MIN_AUTH_KEY_BYTES = 32;
export const MAX_AUTH_KEY_BYTES = 72;

export interface ClientCredentials {
  clientID: string;
  authKey: string;
}

export function mattermostSecretName(cr: MattermostRTCD): string {
  return `${nameOf(cr)}-mattermost`;
}

/** The Secrets the client's credentials live in: a change to one is reconciled at once. */
export function mattermostSecretsOf(cr: MattermostRTCD): string[] {
  const mc = cr.spec?.mattermostClient;
  if (!mc) return [];
  return mc.authKeySecretRef
    ? [mattermostSecretName(cr), mc.authKeySecretRef.name]
    : [mattermostSecretName(cr)];
}

/** Whether the auth key is generated into the Secret we write (no authKeySecretRef). */
export function generatedAuthKey(cr: MattermostRTCD): boolean {
  return !!cr.spec?.mattermostClient && !cr.spec.mattermostClient.authKeySecretRef;
}

/** Readiness gates for the pod template: only when the operator registers a client. */
export function readinessGates(cr: MattermostRTCD): V1PodReadinessGate[] | undefined {
  return cr.spec?.mattermostClient ? [{ conditionType: CLIENT_REGISTERED_CONDITION }] : undefined;
}

/** rtcd's endpoint with the client's credentials in it, percent-encoded as url.Parse expects. */
export function serviceURL(base: string, creds: ClientCredentials): string {
  const u = new URL(base);
  u.username = encodeURIComponent(creds.clientID);
  u.password = encodeURIComponent(creds.authKey);
  // URL keeps a trailing "/" on an empty path; the plugin joins paths onto it.
  return u.toString().replace(/\/$/, "");
}

/** Problems with an auth key, in rtcd's limits, without ever quoting the key. */
export function authKeyProblem(key: string): string | undefined {
  const n = Buffer.byteLength(key);
  if (n < MIN_AUTH_KEY_BYTES) return `is ${n} bytes long; rtcd needs at least ${MIN_AUTH_KEY_BYTES}`;
  if (n > MAX_AUTH_KEY_BYTES) return `is ${n} bytes long; rtcd accepts at most ${MAX_AUTH_KEY_BYTES}`;
  return undefined;
}

export function mattermostSecretData(
  cr: MattermostRTCD,
  creds: ClientCredentials,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): Record<string, string> {
  return {
    [ENV_AUTH_KEY]: creds.authKey,
    [ENV_CLIENT_ID]: creds.clientID,
    [ENV_SERVICE_URL]: serviceURL(endpoint(cr, clusterDomain), creds),
  };
}

/** The Secret, values base64-encoded as the API returns them (so live and desired compare equal). */
export function mattermostSecret(
  cr: MattermostRTCD,
  creds: ClientCredentials,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): KubernetesObject {
  const data = Object.fromEntries(
    Object.entries(mattermostSecretData(cr, creds, clusterDomain)).map(([k, v]) => [
      k,
      Buffer.from(v).toString("base64"),
    ]),
  );
  return {
    apiVersion: apiVersionOf(RESOURCES.Secret),
    kind: RESOURCES.Secret.kind,
    metadata: { name: mattermostSecretName(cr), namespace: namespaceOf(cr), labels: labels(nameOf(cr)) },
    type: "Opaque",
    data,
  } as KubernetesObject;
}

/**
 * Identifies the credentials a pod was registered with, without revealing
 * them: salted with the CR's uid, truncated. Kept in the pod condition's
 * message, so a changed key (or client ID) makes the operator check the pod again.
 */
export function credentialsFingerprint(cr: MattermostRTCD, creds: ClientCredentials): string {
  return createHash("sha256")
    .update(cr.metadata?.uid ?? "")
    .update("\0")
    .update(creds.clientID)
    .update("\0")
    .update(creds.authKey)
    .digest("hex")
    .slice(0, 12);
}
