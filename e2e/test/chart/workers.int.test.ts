// The chart in direct mode with two media workers, installed on the real
// local cluster: the API server accepts a node port per worker and protocol
// and a host port per worker, and the pods are scheduled with them. kwok
// nodes mark pods Ready without running containers, so this checks what
// Kubernetes made of the chart, not rtcd itself.
import { describe, expect, test } from "vitest";
import { chartDir } from "../../src/chart/paths.ts";
import {
  freeNodePortRange,
  getJson,
  helm,
  kubectl,
  randomHostPorts,
  useCluster,
  useNamespace,
  waitFor,
} from "../../src/testing/index.ts";

const ns = useNamespace("chart-workers");

interface Port {
  name: string;
  containerPort?: number;
  hostPort?: number;
  port?: number;
  nodePort?: number;
  protocol: string;
}
interface Deployment {
  metadata: { generation: number };
  spec: {
    template: {
      spec: {
        hostNetwork?: boolean;
        containers: { ports: Port[]; env?: { name: string; value?: string }[] }[];
      };
    };
  };
  status: {
    observedGeneration?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    replicas?: number;
  };
}

async function install(release: string, ...set: string[]): Promise<void> {
  await useCluster();
  // fullnameOverride: the objects are named after the release.
  await helm([
    "upgrade",
    "--install",
    release,
    chartDir,
    "-n",
    ns.name,
    "--set",
    `fullnameOverride=${release}`,
    "--set",
    "configuration.mediaWorkers=2",
    ...set,
  ]);
}

function rolledOut(release: string, replicas: number): Promise<Deployment> {
  return waitFor(
    async () => {
      const d = await getJson<Deployment>(["get", "deployment", release, "-n", ns.name]);
      const s = d.status;
      return (
        s.observedGeneration === d.metadata.generation &&
        s.replicas === replicas &&
        s.updatedReplicas === replicas &&
        s.readyReplicas === replicas &&
        d
      );
    },
    { timeoutMs: 90_000, what: `deployment ${release} to roll out ${replicas} ready replicas` },
  );
}

const rtc = (ports: Port[]) => ports.filter((p) => p.name !== "api");

describe("direct mode, two media workers", () => {
  test("host networking: a host port per worker and protocol, two pods scheduled on them", async () => {
    // Host ports other files' pods do not hold.
    const { apiPort, rtcPort } = randomHostPorts();
    await install(
      "duo",
      "--set",
      "configuration.replicas=2",
      "--set",
      `service.APIport=${apiPort}`,
      "--set",
      `service.RTCport=${rtcPort}`,
    );
    const d = await rolledOut("duo", 2);
    const c = d.spec.template.spec.containers[0]!;
    expect(rtc(c.ports).map((p) => [p.name, p.containerPort, p.hostPort, p.protocol])).toEqual([
      ["rtc-udp", rtcPort, rtcPort, "UDP"],
      ["rtc-tcp", rtcPort, rtcPort, "TCP"],
      ["rtc-udp-1", rtcPort + 1, rtcPort + 1, "UDP"],
      ["rtc-tcp-1", rtcPort + 1, rtcPort + 1, "TCP"],
    ]);
    expect(c.env).toContainEqual({ name: "RTCD_MEDIA_WORKERS", value: "2" });
    await helm(["uninstall", "duo", "-n", ns.name, "--wait"]);
  });

  test("NodePort: the API server accepts a node port per worker; the workers listen on them", async () => {
    // A release of its own: a headless Service cannot become a NodePort one in place.
    const np = await freeNodePortRange(2);
    await install(
      "nodeport",
      "--set",
      "configuration.replicas=1",
      "--set",
      "networking.hostNetwork=false",
      "--set",
      "service.type=NodePort",
      "--set",
      `service.nodePorts.rtc=${np}`,
    );
    const d = await rolledOut("nodeport", 1);
    const c = d.spec.template.spec.containers[0]!;
    expect(rtc(c.ports).map((p) => [p.name, p.containerPort, p.hostPort])).toEqual([
      ["rtc-udp", np, undefined],
      ["rtc-tcp", np, undefined],
      ["rtc-udp-1", np + 1, undefined],
      ["rtc-tcp-1", np + 1, undefined],
    ]);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ RTCD_RTC_ICEPORTUDP: `${np}`, RTCD_RTC_ICEPORTTCP: `${np}` });
    expect(env).not.toHaveProperty("RTCD_RTC_ICEHOSTPORTOVERRIDE");
    const svc = await getJson<{ spec: { type: string; ports: Port[] } }>([
      "get",
      "service",
      "nodeport",
      "-n",
      ns.name,
    ]);
    expect(svc.spec.type).toBe("NodePort");
    expect(rtc(svc.spec.ports).map((p) => [p.name, p.protocol, p.port, p.nodePort])).toEqual([
      ["rtc-udp", "UDP", 8443, np],
      ["rtc-tcp", "TCP", 8443, np],
      ["rtc-udp-1", "UDP", 8444, np + 1],
      ["rtc-tcp-1", "TCP", 8444, np + 1],
    ]);
    await helm(["uninstall", "nodeport", "-n", ns.name, "--wait"]);
    expect(await kubectl(["get", "services", "-n", ns.name, "-o", "name"])).toBe("");
  });
});
