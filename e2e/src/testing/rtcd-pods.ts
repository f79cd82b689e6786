// rtcd's pods as the real-node e2e sees them: which ones run, which one a new
// call would reach (Ready, not terminating, the headless Service's only DNS
// answer), as the Calls plugin finds rtcd hosts by DNS.
import { getJson } from "./kube.ts";
import { serviceIps } from "./real-node.ts";
import { waitFor } from "./wait.ts";

export interface PodInfo {
  name: string;
  ip: string;
  node: string;
  image: string;
  ready: boolean;
  terminating: boolean;
  running: boolean;
}

export async function rtcdPods(namespace: string): Promise<PodInfo[]> {
  const list = await getJson<{
    items: {
      metadata: { name: string; deletionTimestamp?: string };
      spec: { nodeName?: string; containers: { image: string }[] };
      status: {
        podIP?: string;
        conditions?: { type: string; status: string }[];
        containerStatuses?: { state: { running?: object } }[];
      };
    }[];
  }>(["get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=rtcd"]);
  return list.items.map((p) => ({
    name: p.metadata.name,
    ip: p.status.podIP ?? "",
    node: p.spec.nodeName ?? "",
    image: p.spec.containers[0]?.image ?? "",
    ready: p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    terminating: !!p.metadata.deletionTimestamp,
    running: !!p.status.containerStatuses?.[0]?.state.running,
  }));
}

/** The one serving rtcd pod: Ready, not terminating, and in the headless Service's DNS. */
export async function servingPod(namespace: string, service: string, not?: string): Promise<PodInfo> {
  return waitFor(
    async () => {
      const ready = (await rtcdPods(namespace)).filter((p) => p.ready && !p.terminating && p.name !== not);
      if (ready.length !== 1) return undefined;
      const ips = await serviceIps(service, namespace);
      return ips.length === 1 && ips[0] === ready[0]!.ip ? ready[0] : undefined;
    },
    {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: `a Ready rtcd pod in DNS${not ? ` other than ${not}` : ""}`,
    },
  );
}

/** The headless rtcd Service the operator makes once it has reconciled the MattermostRTCD. */
export async function headlessRtcdService(namespace: string): Promise<string> {
  return waitFor(
    async () =>
      (
        await getJson<{ items: { metadata: { name: string }; spec: { clusterIP?: string } }[] }>([
          "get",
          "services",
          "-n",
          namespace,
          "-l",
          "app.kubernetes.io/component=rtcd",
        ])
      ).items.find((s) => s.spec.clusterIP === "None")?.metadata.name,
    { timeoutMs: 120_000, intervalMs: 500, what: "the operator's headless rtcd Service" },
  );
}
