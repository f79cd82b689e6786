// spec.mattermostClient: the Mattermost server's rtcd client, which the
// operator registers on every pod (self-registration stays off) and hands to
// Mattermost as a Secret holding MM_CALLS_RTCD_SERVICE_URL.
import { obj, str, type Schema } from "./openapi.ts";

/** rtcd stores client IDs as bitcask keys of at most 64 bytes; we keep to ASCII so bytes = characters. */
export const CLIENT_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

export const mattermostClient: Schema = obj(
  "The Mattermost server's client on rtcd. When set, the operator registers this client on every pod through rtcd's admin API before the pod counts as ready (pod readiness gate rtcd.mattermost.com/client-registered), so it works with self-registration off and with Mattermost's rtcd image, and writes Secret `<name>-mattermost` (MM_CALLS_RTCD_SERVICE_URL, MM_CALLS_RTCD_CLIENT_ID, MM_CALLS_RTCD_AUTH_KEY) for Mattermost's deployment to read with envFrom.",
  {
    clientID: str(
      "The client ID Mattermost logs in with (MM_CALLS_RTCD_CLIENT_ID): letters, digits, '.', '_' and '-', at most 64.",
      { minLength: 1, maxLength: 64, pattern: CLIENT_ID_PATTERN },
    ),
    authKeySecretRef: obj(
      "A key of a Secret in the same namespace holding the client's auth key (32 to 72 bytes). Unset: the operator generates one into Secret `<name>-mattermost` (key MM_CALLS_RTCD_AUTH_KEY) and keeps it.",
      {
        name: str("Secret name.", { minLength: 1, maxLength: 253 }),
        key: str("Key in the Secret.", { minLength: 1, maxLength: 253 }),
      },
      { required: ["name", "key"], tsName: "MattermostAuthKeyRef" },
    ),
  },
  { required: ["clientID"], tsName: "MattermostClientSpec" },
);
