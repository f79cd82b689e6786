// Every networking mode a platform team can pick, as the cluster sees it: the
// pod's ports and host networking, the Services (the headless API Service the
// Mattermost plugin resolves, and the RTC Service of NodePort and
// LoadBalancer), the endpoints behind them, and the CR's status.
import { beforeAll, describe, expect, it } from "vitest";
import {
  cr,
  getJson,
  getOrUndefined,
  kubectl,
  READY_TIMEOUT_MS,
  useNamespace,
  useOperator,
  waitCondition,
  waitFor,
  waitReady,
} from "../src/testing/index.ts";
import { freeNodePorts, randomHostPorts } from "../src/testing/ports.ts";

const ns = useNamespace("e2e-networking");
useOperator(() => [ns.name]);

interface Port {
  name: string;
  containerPort: number;
  hostPort?: number;
  protocol: string;
}
interface Deployment {
  spec: { template: { spec: { hostNetwork?: boolean; containers: { name: string; ports: Port[] }[] } } };
}
interface Service {
  spec: {
    type: string;
    clusterIP: string;
    selector: Record<string, string>;
    ports: { name: string; port: number; nodePort?: number; protocol: string; targetPort: string | number }[];
  };
}
interface EndpointSlice {
  ports: { name: string; port: number; protocol: string }[] | null;
  endpoints?: { conditions: { ready?: boolean }; targetRef?: { kind: string; name: string } }[];
}

const apply = (doc: string) => kubectl(["apply", "-n", ns.name, "-f", "-"], { input: doc });
const ports = randomHostPorts();

async function deployment(name: string): Promise<Deployment> {
  return getJson<Deployment>(["get", "deployment", name, "-n", ns.name]);
}

const portsOf = (d: Deployment) =>
  d.spec.template.spec.containers
    .find((c) => c.name === "rtcd")!
    .ports.map((p) => [p.name, p.containerPort, p.hostPort ?? null, p.protocol]);

/** The ready pod behind a Service, with the ports its EndpointSlice publishes. */
async function endpointsOf(service: string): Promise<{ pods: string[]; ports: string[] }> {
  return waitFor(
    async () => {
      const list = await getJson<{ items: EndpointSlice[] }>([
        "get",
        "endpointslices",
        "-n",
        ns.name,
        "-l",
        `kubernetes.io/service-name=${service}`,
      ]);
      const eps = list.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions.ready);
      if (eps.length === 0) return undefined;
      return {
        pods: eps.map((e) => `${e.targetRef?.kind}/${e.targetRef?.name}`),
        ports: list.items
          .flatMap((s) => (s.ports ?? []).map((p) => `${p.name}:${p.port}/${p.protocol}`))
          .sort(),
      };
    },
    { timeoutMs: READY_TIMEOUT_MS, what: `a ready endpoint behind Service ${service}` },
  );
}

async function podNames(name: string): Promise<string[]> {
  const out = await kubectl([
    "get",
    "pods",
    "-n",
    ns.name,
    "-l",
    `app.kubernetes.io/instance=${name}`,
    "-o",
    "name",
  ]);
  return out
    .split("\n")
    .filter(Boolean)
    .map((p) => `Pod/${p.replace("pod/", "")}`);
}

/**
 * The headless API Service every mode has, on the API port, with the ready
 * pods behind it. (Not checked for host networking: kwok nodes have the
 * loopback address, which an EndpointSlice may not hold.)
 */
async function expectApiService(name: string, endpoints = true): Promise<void> {
  const svc = await getJson<Service>(["get", "service", name, "-n", ns.name]);
  expect(svc.spec.type).toBe("ClusterIP");
  expect(svc.spec.clusterIP).toBe("None");
  expect(svc.spec.ports.map((p) => [p.name, p.port, p.protocol])).toEqual([["api", ports.apiPort, "TCP"]]);
  expect(svc.spec.selector).toEqual({
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/name": "mattermost-rtcd",
  });
  if (!endpoints) return;
  const eps = await endpointsOf(name);
  expect(eps.ports).toEqual([`api:${ports.apiPort}/TCP`]);
  expect(eps.pods.sort()).toEqual((await podNames(name)).sort());
}

let nodePort = 0;
beforeAll(async () => {
  [nodePort] = (await freeNodePorts(1)) as [number];
});

describe("networking modes", () => {
  it("HostNetwork (the default): host networking, host ports for API and RTC, no RTC Service", async () => {
    await apply(cr("hostnet", { replicas: 1, ...ports }));
    const ready = await waitReady(ns.name, "hostnet", READY_TIMEOUT_MS);
    expect(ready.spec?.networking?.mode).toBe("HostNetwork");
    expect(ready.status?.endpoint).toBe(`http://hostnet.${ns.name}.svc.cluster.local:${ports.apiPort}`);
    const d = await deployment("hostnet");
    expect(d.spec.template.spec.hostNetwork).toBe(true);
    expect(portsOf(d)).toEqual([
      ["api", ports.apiPort, ports.apiPort, "TCP"],
      ["rtc-udp", ports.rtcPort, ports.rtcPort, "UDP"],
      ["rtc-tcp", ports.rtcPort, ports.rtcPort, "TCP"],
    ]);
    await expectApiService("hostnet", false);
    // The pod really is on the node's network: its address is the node's.
    const pod = await getJson<{ status: { podIP?: string; hostIP?: string } }>([
      "get",
      (await podNames("hostnet"))[0]!.replace("Pod/", "pod/"),
      "-n",
      ns.name,
    ]);
    expect(pod.status.podIP).toBeTruthy();
    expect(pod.status.podIP).toBe(pod.status.hostIP);
    expect(await getOrUndefined(ns.name, "service", "hostnet-rtc")).toBeUndefined();
  });

  it("HostPort: the pod's own network, host ports for RTC only, no RTC Service", async () => {
    await apply(cr("hostport", { replicas: 1, ...ports, networking: { mode: "HostPort" } }));
    await waitReady(ns.name, "hostport", READY_TIMEOUT_MS);
    const d = await deployment("hostport");
    expect(d.spec.template.spec.hostNetwork ?? false).toBe(false);
    expect(portsOf(d)).toEqual([
      ["api", ports.apiPort, null, "TCP"],
      ["rtc-udp", ports.rtcPort, ports.rtcPort, "UDP"],
      ["rtc-tcp", ports.rtcPort, ports.rtcPort, "TCP"],
    ]);
    await expectApiService("hostport");
    expect(await getOrUndefined(ns.name, "service", "hostport-rtc")).toBeUndefined();
  });

  it("NodePort: a NodePort Service for RTC on the chosen port (UDP and TCP), advertised to clients", async () => {
    await apply(
      cr("nodeport", {
        replicas: 1,
        ...ports,
        networking: { mode: "NodePort", nodePort },
        rtcd: { iceHostOverride: { host: "203.0.113.20" } },
      }),
    );
    await waitReady(ns.name, "nodeport", READY_TIMEOUT_MS);
    const d = await deployment("nodeport");
    expect(d.spec.template.spec.hostNetwork ?? false).toBe(false);
    expect(portsOf(d).every(([, , host]) => host === null)).toBe(true);
    await expectApiService("nodeport");
    const rtc = await getJson<Service>(["get", "service", "nodeport-rtc", "-n", ns.name]);
    expect(rtc.spec.type).toBe("NodePort");
    expect(rtc.spec.ports.map((p) => [p.name, p.port, p.nodePort, p.protocol])).toEqual([
      ["rtc-udp", ports.rtcPort, nodePort, "UDP"],
      ["rtc-tcp", ports.rtcPort, nodePort, "TCP"],
    ]);
    const eps = await endpointsOf("nodeport-rtc");
    expect(eps.ports).toEqual([`rtc-tcp:${ports.rtcPort}/TCP`, `rtc-udp:${ports.rtcPort}/UDP`]);
    expect(eps.pods).toEqual(await podNames("nodeport"));
    const config = await getJson<{ data: Record<string, string> }>([
      "get",
      "configmap",
      "nodeport-config",
      "-n",
      ns.name,
    ]);
    expect(config.data["RTCD_RTC_ICEHOSTPORTOVERRIDE"]).toBe(String(nodePort));
    expect(config.data["RTCD_RTC_ICEHOSTOVERRIDE"]).toBe("203.0.113.20");
  });

  it("LoadBalancer: a LoadBalancer Service for RTC; not Ready until the load balancer has an address", async () => {
    await apply(
      cr("lb", {
        replicas: 1,
        ...ports,
        networking: { mode: "LoadBalancer" },
        rtcd: { iceHostOverride: { host: "203.0.113.30" } },
      }),
    );
    const pending = await waitCondition(
      ns.name,
      "lb",
      "Ready",
      "False",
      "LoadBalancerPending",
      READY_TIMEOUT_MS,
    );
    expect(pending.status?.readyReplicas).toBe(1);
    const rtc = await getJson<Service>(["get", "service", "lb-rtc", "-n", ns.name]);
    expect(rtc.spec.type).toBe("LoadBalancer");
    expect(rtc.spec.ports.map((p) => [p.name, p.port, p.protocol])).toEqual([
      ["rtc-udp", ports.rtcPort, "UDP"],
      ["rtc-tcp", ports.rtcPort, "TCP"],
    ]);
    await expectApiService("lb");
    // Play the cloud's load-balancer controller: give the Service an address.
    await kubectl([
      "patch",
      "service",
      "lb-rtc",
      "-n",
      ns.name,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: "203.0.113.30" }] } } }),
    ]);
    const ready = await waitReady(ns.name, "lb", READY_TIMEOUT_MS);
    expect(ready.status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("Available");
  });

  it("switching a live instance from HostNetwork to NodePort adds the RTC Service and drops the host ports", async () => {
    const [other] = (await freeNodePorts(1)) as [number];
    await apply(
      cr("hostnet", {
        replicas: 1,
        ...ports,
        networking: { mode: "NodePort", nodePort: other },
        rtcd: { iceHostOverride: { host: "203.0.113.40" } },
      }),
    );
    await waitFor(async () => (await getOrUndefined(ns.name, "service", "hostnet-rtc")) !== undefined, {
      timeoutMs: 30_000,
      what: "the RTC Service to be created",
    });
    await waitReady(ns.name, "hostnet", READY_TIMEOUT_MS);
    const d = await deployment("hostnet");
    expect(d.spec.template.spec.hostNetwork ?? false).toBe(false);
    expect(portsOf(d).every(([, , host]) => host === null)).toBe(true);
    const rtc = await getJson<Service>(["get", "service", "hostnet-rtc", "-n", ns.name]);
    expect(rtc.spec.ports.map((p) => p.nodePort)).toEqual([other, other]);
  });
});
