// Which rtcd pod of a MattermostRTCD a test call goes to, and why none can:
// pure over what kubectl returned, so each refusal is unit-tested and says
// what to do.

interface PodLike {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { ports?: { name?: string; containerPort: number }[] }[] };
  status: { podIP?: string; conditions?: { type: string; status: string }[] };
}

interface NodeLike {
  metadata: { name: string; annotations?: Record<string, string> };
}

export interface Target {
  pod: string;
  node: string;
  /** rtcd's API on the pod, e.g. http://10.213.185.11:8045. */
  base: string;
}

/** kwok's own mark on the nodes it simulates: no container ever runs there. */
const SIMULATED = "kwok.x-k8s.io/node";

export function pickTarget(instance: string, pods: readonly PodLike[], nodes: readonly NodeLike[]): Target {
  if (!pods.length) throw new Error(`${instance} has no pods: is it Ready? (kubectl get mattermostrtcd)`);
  const ready = pods.filter(
    (p) =>
      !p.metadata.deletionTimestamp &&
      p.status.podIP &&
      p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  );
  if (!ready.length) throw new Error(`none of ${instance}'s ${pods.length} pods is Ready`);
  const simulated = new Set(
    nodes.filter((n) => n.metadata.annotations?.[SIMULATED]).map((n) => n.metadata.name),
  );
  const real = ready.filter((p) => !simulated.has(p.spec.nodeName ?? ""));
  if (!real.length)
    throw new Error(
      `${instance}'s pods run on simulated nodes (kwok), where no container runs and no call can be made; ` +
        "start the sample on real nodes with `npm start -- --real-node`",
    );
  const pod = real[0]!;
  const port = pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === "api")?.containerPort;
  if (!port) throw new Error(`pod ${pod.metadata.name} has no container port named "api"`);
  return {
    pod: pod.metadata.name,
    node: pod.spec.nodeName ?? "",
    base: `http://${pod.status.podIP}:${port}`,
  };
}
