// Kubernetes Events on the MattermostRTCD, so `kubectl describe` tells what
// the operator did and why it is stuck. Identical events within a window are
// dropped: a CR retried with backoff must not flood the namespace.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient } from "./kube-client.ts";
import { RESOURCES, apiVersionOf } from "../api/resources.ts";
import type { Logger } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";

export type EventType = "Normal" | "Warning";

export class EventRecorder {
  private readonly recent = new Map<string, number>();
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly log: Logger;
  private readonly windowMs: number;

  constructor(client: KubeClient, component: string, log: Logger, windowMs = 5 * 60_000) {
    this.client = client;
    this.component = component;
    this.log = log;
    this.windowMs = windowMs;
  }

  record(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    const md = obj.metadata ?? {};
    const key = `${md.uid}/${type}/${reason}/${message}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.windowMs) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.prune(now);
    const ts = new Date(now).toISOString();
    const event = {
      apiVersion: apiVersionOf(RESOURCES.Event),
      kind: RESOURCES.Event.kind,
      metadata: { generateName: `${md.name}.`, namespace: md.namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: md.name,
        namespace: md.namespace,
        uid: md.uid,
        resourceVersion: md.resourceVersion,
      },
      reason,
      message: message.slice(0, 1024),
      type,
      source: { component: this.component },
      reportingComponent: this.component,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    this.client.create(RESOURCES.Event, event as KubernetesObject).catch((err: unknown) => {
      this.log.warn("could not record event", { reason, error: errorMessage(err) });
    });
  }

  private prune(now: number): void {
    for (const [k, t] of this.recent) if (now - t >= this.windowMs) this.recent.delete(k);
  }
}
