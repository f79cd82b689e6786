// Shared by the render tests: a defaulted resource and shortcuts into what render() returns.
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1PodSpec,
} from "@kubernetes/client-node";
import {
  GROUP,
  KIND,
  VERSION,
  applyDefaults,
  type MattermostRTCD,
  type MattermostRTCDSpec,
} from "../src/api/index.ts";
import { render } from "../src/render/index.ts";

export function cr(spec: MattermostRTCDSpec = {}, name = "rtcd"): MattermostRTCD {
  return applyDefaults({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    metadata: { name, namespace: "calls", uid: "u-1", generation: 1 },
    spec,
  });
}

export function out(spec: MattermostRTCDSpec = {}, serviceMonitorAvailable = false) {
  return render(cr(spec), { serviceMonitorAvailable });
}
export function find<T>(objects: KubernetesObject[], kind: string, name: string): T | undefined {
  return objects.find((o) => o.kind === kind && o.metadata?.name === name) as T | undefined;
}
export function deployment(spec: MattermostRTCDSpec = {}): V1Deployment {
  return find<V1Deployment>(out(spec).objects, "Deployment", "rtcd")!;
}
export function pod(spec: MattermostRTCDSpec = {}): V1PodSpec {
  const o = out(spec).objects.find((x) => x.kind === "Deployment" || x.kind === "DaemonSet") as V1Deployment;
  return o.spec!.template.spec!;
}
export function container(spec: MattermostRTCDSpec = {}): V1Container {
  return pod(spec).containers[0]!;
}
export function config(spec: MattermostRTCDSpec = {}): Record<string, string> {
  return find<V1ConfigMap>(out(spec).objects, "ConfigMap", "rtcd-config")!.data!;
}
export const kinds = (spec: MattermostRTCDSpec = {}, sm = false) =>
  out(spec, sm).objects.map((o) => `${o.kind}/${o.metadata!.name}`);
