// Two media workers per pod against the real API server: the operator's
// Deployment declares each worker's ports, the API server accepts them (it
// allocates the node ports and checks host ports), the status says which
// ports to open, and the CRD refuses what cannot work.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cr,
  freeNodePortRange,
  getOrUndefined,
  installCrd,
  kubectl,
  operatorQuiet,
  operatorWrites,
  randomHostPorts,
  startOperator,
  tryKubectl,
  useCluster,
  useNamespace,
  waitFor,
  waitReady,
  type OperatorProcess,
} from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-media-workers");
installCrd();
let op: OperatorProcess;

beforeAll(async () => {
  const c = await useCluster();
  op = await startOperator(c.kubeconfig, ["--namespace", ns.name, "--resync-period", "2s"], c.env);
  await waitFor(async () => op.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
});

afterAll(async () => {
  const code = await op?.stop();
  expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
});

interface Port {
  name: string;
  containerPort?: number;
  hostPort?: number;
  port?: number;
  nodePort?: number;
  targetPort?: string;
  protocol: string;
}
interface Deployment {
  metadata: { generation: number };
  spec: { template: { spec: { hostNetwork?: boolean; containers: { ports: Port[] }[] } } };
}
interface Service {
  spec: { type: string; ports: Port[] };
}

const apply = (name: string, spec: Record<string, unknown>) =>
  kubectl(["apply", "-n", ns.name, "-f", "-"], { input: cr(name, spec) });
const rtcPorts = (d: Deployment) =>
  d.spec.template.spec.containers[0]!.ports.filter((p) => p.name !== "api").map((p) => ({
    name: p.name,
    containerPort: p.containerPort,
    hostPort: p.hostPort,
    protocol: p.protocol,
  }));
const config = async (name: string) =>
  (await getOrUndefined<{ data: Record<string, string> }>(ns.name, "configmap", `${name}-config`))!.data;

/** The Deployment once it carries `ports` (a change of mode rolls it). */
async function deploymentWith(name: string, ports: Port[]): Promise<Deployment> {
  return waitFor(
    async () => {
      const d = await getOrUndefined<Deployment>(ns.name, "deployment", name);
      return d && JSON.stringify(rtcPorts(d)) === JSON.stringify(ports) ? d : undefined;
    },
    { timeoutMs: 30_000, what: `Deployment ${name} with ${ports.length} RTC ports` },
  );
}

describe("two media workers", () => {
  // Host ports other files' pods do not hold (worker i takes rtcPort + i).
  const hostPorts = randomHostPorts();
  const rtc = hostPorts.rtcPort;

  it("NodePort: a node port per worker, accepted by the API server, each worker listening on its own", async () => {
    const np = await freeNodePortRange(2);
    await apply("duo", {
      replicas: 1,
      rtcd: { mediaWorkers: 2, iceServers: [], iceHostOverride: { host: "203.0.113.7" } },
      networking: { mode: "NodePort", nodePort: np },
    });
    await deploymentWith("duo", [
      { name: "rtc-udp", containerPort: np, hostPort: undefined, protocol: "UDP" },
      { name: "rtc-tcp", containerPort: np, hostPort: undefined, protocol: "TCP" },
      { name: "rtc-udp-1", containerPort: np + 1, hostPort: undefined, protocol: "UDP" },
      { name: "rtc-tcp-1", containerPort: np + 1, hostPort: undefined, protocol: "TCP" },
    ] as Port[]);
    const svc = (await getOrUndefined<Service>(ns.name, "service", "duo-rtc"))!;
    expect(svc.spec.type).toBe("NodePort");
    expect(svc.spec.ports.map((p) => [p.name, p.protocol, p.port, p.nodePort, p.targetPort])).toEqual([
      ["rtc-udp", "UDP", 8443, np, "rtc-udp"],
      ["rtc-tcp", "TCP", 8443, np, "rtc-tcp"],
      ["rtc-udp-1", "UDP", 8444, np + 1, "rtc-udp-1"],
      ["rtc-tcp-1", "TCP", 8444, np + 1, "rtc-tcp-1"],
    ]);
    const data = await config("duo");
    expect(data).toMatchObject({
      RTCD_MEDIA_WORKERS: "2",
      RTCD_RTC_ICEPORTUDP: `${np}`,
      RTCD_RTC_ICEPORTTCP: `${np}`,
    });
    expect(data).not.toHaveProperty("RTCD_RTC_ICEHOSTPORTOVERRIDE");
    const ready = await waitReady(ns.name, "duo");
    expect(ready.status?.mediaPorts).toEqual({
      openOn: "Nodes",
      ports: [
        { worker: 0, port: np },
        { worker: 1, port: np + 1 },
      ],
      summary: `UDP and TCP ${np}-${np + 1} on every node running rtcd`,
    });
  });

  it("a resync of the unchanged resource writes nothing (its status.mediaPorts comes back as stored)", async () => {
    await waitReady(ns.name, "duo");
    // The operator may not settle at all if it misreads the stored status
    // as changed; quiet for 3 s, then no write across three more resyncs.
    const w0 = await operatorQuiet(op);
    const reconciles = () => op.metricValue("controller_runtime_reconcile_total");
    const r0 = await reconciles();
    await waitFor(async () => (await reconciles()) > r0 + 2, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: "three more reconciles of the unchanged CR",
    });
    expect(await operatorWrites(op)).toBe(w0);
  });

  it("HostNetwork: a host port per worker and protocol, the RTC Service gone", async () => {
    await apply("duo", {
      replicas: 1,
      ...hostPorts,
      rtcd: { mediaWorkers: 2, iceServers: [], iceHostOverride: { host: "203.0.113.7" } },
      networking: { mode: "HostNetwork" },
    });
    const d = await deploymentWith("duo", [
      { name: "rtc-udp", containerPort: rtc, hostPort: rtc, protocol: "UDP" },
      { name: "rtc-tcp", containerPort: rtc, hostPort: rtc, protocol: "TCP" },
      { name: "rtc-udp-1", containerPort: rtc + 1, hostPort: rtc + 1, protocol: "UDP" },
      { name: "rtc-tcp-1", containerPort: rtc + 1, hostPort: rtc + 1, protocol: "TCP" },
    ] as Port[]);
    expect(d.spec.template.spec.hostNetwork).toBe(true);
    await waitFor(async () => !(await getOrUndefined(ns.name, "service", "duo-rtc")), {
      timeoutMs: 30_000,
      what: "the RTC Service to be pruned",
    });
    const ready = await waitFor(
      async () => {
        const r = await waitReady(ns.name, "duo");
        return r.status?.mediaPorts?.summary?.startsWith(`UDP and TCP ${rtc}-${rtc + 1}`) ? r : undefined;
      },
      { timeoutMs: 60_000, what: "status.mediaPorts for host networking" },
    );
    expect(ready.status?.mediaPorts?.ports).toEqual([
      { worker: 0, port: rtc },
      { worker: 1, port: rtc + 1 },
    ]);
  });

  it("HostPort: the same host ports on the pod's own network", async () => {
    await apply("duo", {
      replicas: 1,
      ...hostPorts,
      rtcd: { mediaWorkers: 2, iceServers: [], iceHostOverride: { host: "203.0.113.7" } },
      networking: { mode: "HostPort" },
    });
    const d = await waitFor(
      async () => {
        const x = await getOrUndefined<Deployment>(ns.name, "deployment", "duo");
        return x && !x.spec.template.spec.hostNetwork ? x : undefined;
      },
      { timeoutMs: 30_000, what: "the Deployment off the host network" },
    );
    expect(rtcPorts(d).map((p) => [p.name, p.containerPort, p.hostPort])).toEqual([
      ["rtc-udp", rtc, rtc],
      ["rtc-tcp", rtc, rtc],
      ["rtc-udp-1", rtc + 1, rtc + 1],
      ["rtc-tcp-1", rtc + 1, rtc + 1],
    ]);
    const ready = await waitReady(ns.name, "duo");
    expect(ready.status?.mediaPorts?.summary).toBe(
      `UDP and TCP ${rtc}-${rtc + 1} on every node running rtcd`,
    );
  });

  it("LoadBalancer: a Service port per worker", async () => {
    await apply("solo", {
      replicas: 1,
      rtcd: { mediaWorkers: 2, iceServers: [], iceHostOverride: { host: "lb.example.com" } },
      networking: { mode: "LoadBalancer" },
    });
    const svc = await waitFor(() => getOrUndefined<Service>(ns.name, "service", "solo-rtc"), {
      timeoutMs: 30_000,
      what: "the RTC Service",
    });
    expect(svc.spec.type).toBe("LoadBalancer");
    expect(svc.spec.ports.map((p) => [p.name, p.protocol, p.port, p.targetPort])).toEqual([
      ["rtc-udp", "UDP", 8443, "rtc-udp"],
      ["rtc-tcp", "TCP", 8443, "rtc-tcp"],
      ["rtc-udp-1", "UDP", 8444, "rtc-udp-1"],
      ["rtc-tcp-1", "TCP", 8444, "rtc-tcp-1"],
    ]);
    await deploymentWith("solo", [
      { name: "rtc-udp", containerPort: 8443, hostPort: undefined, protocol: "UDP" },
      { name: "rtc-tcp", containerPort: 8443, hostPort: undefined, protocol: "TCP" },
      { name: "rtc-udp-1", containerPort: 8444, hostPort: undefined, protocol: "UDP" },
      { name: "rtc-tcp-1", containerPort: 8444, hostPort: undefined, protocol: "TCP" },
    ] as Port[]);
    const status = await waitFor(
      async () =>
        (
          await getOrUndefined<{ status?: { mediaPorts?: { summary?: string } } }>(
            ns.name,
            "mattermostrtcd",
            "solo",
          )
        )?.status?.mediaPorts,
      { timeoutMs: 30_000, what: "status.mediaPorts of solo" },
    );
    expect(status.summary).toBe("UDP and TCP 8443-8444 on the load balancer of Service solo-rtc");
    await kubectl(["delete", "-n", ns.name, "mattermostrtcd", "solo", "--wait=false"]);
  });

  it("the API server refuses more workers for Mattermost's image, and node ports past 32767", async () => {
    const dryRun = (spec: Record<string, unknown>) =>
      tryKubectl(["apply", "--dry-run=server", "-n", ns.name, "-f", "-"], { input: cr("asks", spec) });
    const mm = await dryRun({
      image: { repository: "mattermost/rtcd", tag: "v1.2.7" },
      rtcd: { mediaWorkers: 2 },
    });
    expect(mm.ok).toBe(false);
    expect(mm.stderr).toMatch(
      /spec\.rtcd\.mediaWorkers: Invalid value: .*must be 1 with Mattermost's rtcd image \(mattermost\/rtcd\)/,
    );
    const high = await dryRun({
      rtcd: { mediaWorkers: 2 },
      networking: { mode: "NodePort", nodePort: 32767 },
    });
    expect(high.ok).toBe(false);
    expect(high.stderr).toMatch(
      /spec\.networking\.nodePort: Invalid value: .*nodePort\+N-1 must all lie in 30000-32767/,
    );
    const api = await dryRun({
      apiPort: 31544,
      rtcd: { mediaWorkers: 2 },
      networking: { mode: "NodePort", nodePort: 31543 },
    });
    expect(api.ok).toBe(false);
    expect(api.stderr).toMatch(/spec\.apiPort: Invalid value: .*must lie outside spec\.networking\.nodePort/);
    expect((await dryRun({ image: { repository: "mattermost/rtcd", tag: "v1.2.7" } })).ok).toBe(true);
  });
});
