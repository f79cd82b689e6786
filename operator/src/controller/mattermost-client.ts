// The Mattermost client's credentials and the Secret `<name>-mattermost` that
// hands them to Mattermost. The operator holds no Secret write other than
// create and delete (README, "What the operator may read and write"), so a
// Secret whose content must change (a new port, TLS, client ID or key) is
// deleted (precondition: its uid) and created again, keeping a generated key.
import { randomBytes } from "node:crypto";
import type { KubernetesObject, V1Secret } from "@kubernetes/client-node";
import type { DefaultedMattermostRTCD } from "../api/index.ts";
import { RESOURCES } from "../api/resources.ts";
import {
  ENV_AUTH_KEY,
  authKeyProblem,
  generatedAuthKey,
  mattermostSecret,
  mattermostSecretName,
  type ClientCredentials,
} from "../render/mattermost-secret.ts";
import type { Logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";
import { isConflict, type KubeClient } from "./kube-client.ts";
import { controlledBy } from "./ownership.ts";
import type { EventRecorder } from "./events.ts";

export interface Problem {
  reason: string;
  message: string;
}

const decode = (b64: string | undefined) =>
  b64 === undefined ? undefined : Buffer.from(b64, "base64").toString();

function sameData(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a![k] === b[k]);
}

export async function ensureMattermostSecret(
  client: KubeClient,
  cached: KubernetesObject | undefined,
  cr: DefaultedMattermostRTCD,
  opts: {
    clusterDomain?: string;
    log: Logger;
    events: EventRecorder;
    withOwner: (o: KubernetesObject) => KubernetesObject;
  },
): Promise<{ creds?: ClientCredentials; problem?: Problem }> {
  const mc = cr.spec.mattermostClient!;
  const ns = cr.metadata!.namespace!;
  const name = mattermostSecretName(cr);
  let live: V1Secret | undefined;
  try {
    live =
      (cached as V1Secret | undefined) ?? (await client.getOrUndefined<V1Secret>(RESOURCES.Secret, ns, name));
  } catch (err) {
    return {
      problem: { reason: "SecretUnreadable", message: `reading Secret "${name}": ${errorMessage(err)}` },
    };
  }
  if (live && !controlledBy(live, cr)) {
    return {
      problem: {
        reason: "NameConflict",
        message: `Secret "${name}" exists in namespace "${ns}" and was not created by this MattermostRTCD; delete or rename it`,
      },
    };
  }

  let authKey: string | undefined;
  const ref = mc.authKeySecretRef;
  if (ref) {
    const field = "spec.mattermostClient.authKeySecretRef";
    let s: V1Secret | undefined;
    try {
      s = await client.getOrUndefined<V1Secret>(RESOURCES.Secret, ns, ref.name);
    } catch (err) {
      return {
        problem: {
          reason: "SecretUnreadable",
          message: `${field}: reading Secret "${ref.name}": ${errorMessage(err)}`,
        },
      };
    }
    if (!s)
      return {
        problem: {
          reason: "SecretNotFound",
          message: `${field}: Secret "${ref.name}" not found in namespace "${ns}"`,
        },
      };
    authKey = decode(s.data?.[ref.key]);
    if (authKey === undefined) {
      return {
        problem: {
          reason: "SecretKeyNotFound",
          message: `${field}: Secret "${ref.name}" has no key "${ref.key}"`,
        },
      };
    }
    const bad = authKeyProblem(authKey);
    if (bad)
      return {
        problem: { reason: "InvalidAuthKey", message: `${field}: the key in Secret "${ref.name}" ${bad}` },
      };
  } else {
    // Kept across rewrites of the Secret; generated once otherwise.
    authKey = decode(live?.data?.[ENV_AUTH_KEY]) ?? randomBytes(32).toString("base64url");
  }
  const creds = { clientID: mc.clientID, authKey };
  const desired = opts.withOwner(mattermostSecret(cr, creds, opts.clusterDomain)) as V1Secret;
  if (live && sameData(live.data, desired.data!)) return { creds };

  try {
    if (live) await client.delete(RESOURCES.Secret, ns, name, { uid: live.metadata?.uid });
    await client.create(RESOURCES.Secret, desired, "mattermost-rtcd-operator");
  } catch (err) {
    // Someone (another reconcile, an earlier one the cache has not shown us)
    // wrote it meanwhile: the next reconcile reads it again.
    if (isConflict(err))
      return {
        problem: {
          reason: "SecretConflict",
          message: `Secret "${name}" changed while being written; retrying`,
        },
      };
    return { problem: { reason: "ApplyFailed", message: `writing Secret "${name}": ${errorMessage(err)}` } };
  }
  opts.log.info(live ? "rewrote mattermost secret" : "wrote mattermost secret", {
    secret: name,
    generatedKey: generatedAuthKey(cr),
  });
  opts.events.record(
    cr,
    "Normal",
    "MattermostSecretWritten",
    `wrote Secret "${name}" with MM_CALLS_RTCD_SERVICE_URL for Mattermost (envFrom)`,
  );
  return { creds };
}
