// Registers Mattermost's client on every pod of an instance whose container
// is ready, then sets the pod condition its readiness gate waits for
// (rtcd.mattermost.com/client-registered). With self-registration off and
// rtcd's store on an emptyDir, a new pod knows no client: without this, a
// rollout would leave Mattermost unable to log in.
import { readFileSync } from "node:fs";
import type { KubernetesObject, V1Pod, V1PodCondition } from "@kubernetes/client-node";
import type { DefaultedMattermostRTCD } from "../api/index.ts";
import { RESOURCES } from "../api/resources.ts";
import {
  CLIENT_REGISTERED_CONDITION,
  credentialsFingerprint,
  type ClientCredentials,
} from "../render/mattermost-secret.ts";
import { tlsEnabled } from "../render/names.ts";
import type { Logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";
import type { KubeClient } from "./kube-client.ts";
import { ensureRegistered, RtcdAdminError } from "./rtcd-admin.ts";

export const REASON_REGISTERED = "ClientRegistered";
export const REASON_FAILED = "ClientRegistrationFailed";
const FIELD_MANAGER = "mattermost-rtcd-operator";

/** Where to reach a pod's API; tests point kwok pods (which run nothing) at real rtcds. */
export type PodAddress = (pod: V1Pod, port: number, scheme: "http" | "https") => string | undefined;

export const podIPAddress: PodAddress = (pod, port, scheme) => {
  const ip = pod.status?.podIP;
  if (!ip) return undefined;
  return `${scheme}://${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
};

/**
 * For tests on clusters whose pods run nothing (kwok): a JSON file mapping
 * pod names to the base URL of a real rtcd standing in for that pod, read
 * on every lookup so a test can add pods as they appear.
 */
export function podAddressFromFile(file: string): PodAddress {
  return (pod) => {
    try {
      const map = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
      return map[pod.metadata?.name ?? ""];
    } catch {
      return undefined;
    }
  };
}

function condition(pod: V1Pod, type: string): V1PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** The message a registered pod's condition carries: names the credentials, never reveals them. */
export function registeredMessage(fingerprint: string): string {
  return `client registered (credentials ${fingerprint})`;
}

/** Pods whose rtcd is serving and that are not known to accept these credentials. */
export function podsToRegister(pods: readonly V1Pod[], fingerprint: string): V1Pod[] {
  return pods.filter((p) => {
    if (p.metadata?.deletionTimestamp || p.status?.phase !== "Running") return false;
    if (condition(p, "ContainersReady")?.status !== "True") return false;
    const c = condition(p, CLIENT_REGISTERED_CONDITION);
    // Only a condition we wrote for these credentials counts: another
    // writer's "True" (or one for an old key) proves nothing about this pod's rtcd.
    return !(
      c?.status === "True" &&
      c.reason === REASON_REGISTERED &&
      c.message === registeredMessage(fingerprint)
    );
  });
}

export interface RegistrationResult {
  /** Pods that could not be registered, with why (no secrets in it). */
  failures: string[];
  registered: number;
}

export class Registrar {
  private readonly client: KubeClient;
  private readonly address: PodAddress;

  constructor(client: KubeClient, address: PodAddress = podIPAddress) {
    this.client = client;
    this.address = address;
  }

  async sync(
    cr: DefaultedMattermostRTCD,
    creds: ClientCredentials,
    adminKey: string,
    pods: readonly V1Pod[],
    log: Logger,
  ): Promise<RegistrationResult> {
    const fingerprint = credentialsFingerprint(cr, creds);
    const result: RegistrationResult = { failures: [], registered: 0 };
    const scheme = tlsEnabled(cr) ? "https" : "http";
    for (const pod of podsToRegister(pods, fingerprint)) {
      const podName = pod.metadata!.name!;
      const base = this.address(pod, cr.spec.apiPort, scheme);
      try {
        if (!base) throw new RtcdAdminError("the pod has no IP yet", true);
        const outcome = await ensureRegistered(base, creds, adminKey);
        // Only now may the pod count as ready.
        await this.setCondition(pod, "True", REASON_REGISTERED, registeredMessage(fingerprint));
        result.registered++;
        log.info("mattermost client registered", { pod: podName, clientID: creds.clientID, outcome });
      } catch (err) {
        const why = errorMessage(err);
        result.failures.push(`pod ${podName}: ${why}`);
        log.warn("mattermost client registration failed", { pod: podName, error: why });
        const c = condition(pod, CLIENT_REGISTERED_CONDITION);
        // Say why on the pod (kubectl describe), once per distinct reason, not per retry.
        if (c?.status !== "False" || c.reason !== REASON_FAILED || c.message !== why) {
          await this.setCondition(pod, "False", REASON_FAILED, why).catch((e: unknown) =>
            log.warn("could not set pod condition", { pod: podName, error: errorMessage(e) }),
          );
        }
      }
    }
    return result;
  }

  /** Server-side apply of one condition: conditions are a map keyed by type, so the kubelet's stay. */
  private async setCondition(pod: V1Pod, status: string, reason: string, message: string): Promise<void> {
    await this.client.applyStatus(
      RESOURCES.Pod,
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: pod.metadata!.name!, namespace: pod.metadata!.namespace! },
        status: {
          conditions: [
            {
              type: CLIENT_REGISTERED_CONDITION,
              status,
              reason,
              message,
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
            },
          ],
        },
      } as KubernetesObject,
      FIELD_MANAGER,
    );
  }
}
