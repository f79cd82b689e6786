// Several mediasoup workers: worker i listens on its own RTC port (rtcd's
// port + i), and every networking mode must expose each of them, with the
// port each worker advertises being the one clients can reach.
import { describe, expect, it } from "vitest";
import type { V1ContainerPort, V1Service } from "@kubernetes/client-node";
import { crd, validateOffline, type MattermostRTCDSpec } from "../src/api/index.ts";
import { computeStatus } from "../src/status/compute.ts";
import { config, container, cr, find, kinds, out } from "./render-fixtures.ts";

const ours = (n: number, rest: MattermostRTCDSpec = {}): MattermostRTCDSpec => ({
  ...rest,
  rtcd: { ...rest.rtcd, mediaWorkers: n },
});
const rtcPorts = (spec: MattermostRTCDSpec): V1ContainerPort[] =>
  container(spec).ports!.filter((p) => p.name !== "api");
const rtcService = (spec: MattermostRTCDSpec) => find<V1Service>(out(spec).objects, "Service", "rtcd-rtc");
const mediaStatus = (spec: MattermostRTCDSpec) =>
  computeStatus({ cr: cr(spec), workload: undefined, services: [], problems: [], now: new Date(0) })
    .mediaPorts;

describe("render: one worker (the default) is today's single port", () => {
  it("defaults spec.rtcd.mediaWorkers to 1 and sets no RTCD_MEDIA_WORKERS", () => {
    expect(cr().spec!.rtcd!.mediaWorkers).toBe(1);
    expect(config()).not.toHaveProperty("RTCD_MEDIA_WORKERS");
    expect(config(ours(1))).toEqual(config());
    expect(out(ours(1)).objects).toEqual(out().objects);
  });

  it.for(["HostNetwork", "HostPort"] as const)("%s: one UDP and one TCP host port", (mode) => {
    expect(rtcPorts(ours(1, { networking: { mode } }))).toEqual([
      { name: "rtc-udp", containerPort: 8443, hostPort: 8443, protocol: "UDP" },
      { name: "rtc-tcp", containerPort: 8443, hostPort: 8443, protocol: "TCP" },
    ]);
  });

  it("NodePort: one node port, advertised through the port override", () => {
    const spec = ours(1, { networking: { mode: "NodePort", nodePort: 30443 } });
    expect(rtcService(spec)!.spec!.ports).toEqual([
      { name: "rtc-udp", port: 8443, targetPort: "rtc-udp", protocol: "UDP", nodePort: 30443 },
      { name: "rtc-tcp", port: 8443, targetPort: "rtc-tcp", protocol: "TCP", nodePort: 30443 },
    ]);
    expect(config(spec).RTCD_RTC_ICEHOSTPORTOVERRIDE).toBe("30443");
    expect(config(spec).RTCD_RTC_ICEPORTUDP).toBe("8443");
  });

  it("LoadBalancer: one port on the load balancer", () => {
    const spec = ours(1, { replicas: 1, networking: { mode: "LoadBalancer" } });
    expect(rtcService(spec)!.spec!.ports!.map((p) => [p.name, p.port, p.protocol])).toEqual([
      ["rtc-udp", 8443, "UDP"],
      ["rtc-tcp", 8443, "TCP"],
    ]);
  });

  it("status: UDP and TCP 8443 on the nodes", () => {
    expect(mediaStatus({})).toEqual({
      openOn: "Nodes",
      ports: [{ worker: 0, port: 8443 }],
      summary: "UDP and TCP 8443 on every node running rtcd",
    });
  });
});

describe("render: three workers", () => {
  it("tells rtcd how many workers to run", () => {
    expect(config(ours(3)).RTCD_MEDIA_WORKERS).toBe("3");
  });

  it.for(["HostNetwork", "HostPort"] as const)("%s: a host port per worker and protocol", (mode) => {
    const spec = ours(3, { networking: { mode } });
    expect(rtcPorts(spec)).toEqual([
      { name: "rtc-udp", containerPort: 8443, hostPort: 8443, protocol: "UDP" },
      { name: "rtc-tcp", containerPort: 8443, hostPort: 8443, protocol: "TCP" },
      { name: "rtc-udp-1", containerPort: 8444, hostPort: 8444, protocol: "UDP" },
      { name: "rtc-tcp-1", containerPort: 8444, hostPort: 8444, protocol: "TCP" },
      { name: "rtc-udp-2", containerPort: 8445, hostPort: 8445, protocol: "UDP" },
      { name: "rtc-tcp-2", containerPort: 8445, hostPort: 8445, protocol: "TCP" },
    ]);
    // Each worker's own port is its advertised port: no override.
    expect(config(spec)).not.toHaveProperty("RTCD_RTC_ICEHOSTPORTOVERRIDE");
    expect(kinds(spec)).not.toContain("Service/rtcd-rtc");
    expect(mediaStatus(spec)).toEqual({
      openOn: "Nodes",
      ports: [
        { worker: 0, port: 8443 },
        { worker: 1, port: 8444 },
        { worker: 2, port: 8445 },
      ],
      summary: "UDP and TCP 8443-8445 on every node running rtcd",
    });
  });

  it("NodePort: a node port per worker, and each worker advertises its own", () => {
    const spec = ours(3, { networking: { mode: "NodePort", nodePort: 30443 } });
    // rtcd applies one port override to every worker, so worker i could not
    // advertise node port + i through it; instead each worker listens on its
    // node port (any port is free in the pod's own network namespace) and
    // advertises the port it listens on.
    const c = config(spec);
    expect(c).not.toHaveProperty("RTCD_RTC_ICEHOSTPORTOVERRIDE");
    expect([c.RTCD_RTC_ICEPORTUDP, c.RTCD_RTC_ICEPORTTCP]).toEqual(["30443", "30443"]);
    expect(rtcPorts(spec)).toEqual([
      { name: "rtc-udp", containerPort: 30443, protocol: "UDP" },
      { name: "rtc-tcp", containerPort: 30443, protocol: "TCP" },
      { name: "rtc-udp-1", containerPort: 30444, protocol: "UDP" },
      { name: "rtc-tcp-1", containerPort: 30444, protocol: "TCP" },
      { name: "rtc-udp-2", containerPort: 30445, protocol: "UDP" },
      { name: "rtc-tcp-2", containerPort: 30445, protocol: "TCP" },
    ]);
    expect(rtcService(spec)!.spec!.ports).toEqual([
      { name: "rtc-udp", port: 8443, targetPort: "rtc-udp", protocol: "UDP", nodePort: 30443 },
      { name: "rtc-tcp", port: 8443, targetPort: "rtc-tcp", protocol: "TCP", nodePort: 30443 },
      { name: "rtc-udp-1", port: 8444, targetPort: "rtc-udp-1", protocol: "UDP", nodePort: 30444 },
      { name: "rtc-tcp-1", port: 8444, targetPort: "rtc-tcp-1", protocol: "TCP", nodePort: 30444 },
      { name: "rtc-udp-2", port: 8445, targetPort: "rtc-udp-2", protocol: "UDP", nodePort: 30445 },
      { name: "rtc-tcp-2", port: 8445, targetPort: "rtc-tcp-2", protocol: "TCP", nodePort: 30445 },
    ]);
    expect(mediaStatus(spec)).toEqual({
      openOn: "Nodes",
      ports: [
        { worker: 0, port: 30443 },
        { worker: 1, port: 30444 },
        { worker: 2, port: 30445 },
      ],
      summary: "UDP and TCP 30443-30445 on every node running rtcd",
    });
  });

  it("LoadBalancer: a port per worker on the load balancer", () => {
    const spec = ours(3, {
      replicas: 1,
      rtcd: { iceHostOverride: { host: "lb.example.com" } },
      networking: { mode: "LoadBalancer" },
    });
    expect(rtcPorts(spec).map((p) => [p.name, p.containerPort, p.hostPort])).toEqual([
      ["rtc-udp", 8443, undefined],
      ["rtc-tcp", 8443, undefined],
      ["rtc-udp-1", 8444, undefined],
      ["rtc-tcp-1", 8444, undefined],
      ["rtc-udp-2", 8445, undefined],
      ["rtc-tcp-2", 8445, undefined],
    ]);
    expect(rtcService(spec)!.spec!.ports).toEqual([
      { name: "rtc-udp", port: 8443, targetPort: "rtc-udp", protocol: "UDP" },
      { name: "rtc-tcp", port: 8443, targetPort: "rtc-tcp", protocol: "TCP" },
      { name: "rtc-udp-1", port: 8444, targetPort: "rtc-udp-1", protocol: "UDP" },
      { name: "rtc-tcp-1", port: 8444, targetPort: "rtc-tcp-1", protocol: "TCP" },
      { name: "rtc-udp-2", port: 8445, targetPort: "rtc-udp-2", protocol: "UDP" },
      { name: "rtc-tcp-2", port: 8445, targetPort: "rtc-tcp-2", protocol: "TCP" },
    ]);
    expect(config(spec)).not.toHaveProperty("RTCD_RTC_ICEHOSTPORTOVERRIDE");
    expect(out(spec).warnings).toEqual([]);
    expect(mediaStatus(spec)).toEqual({
      openOn: "LoadBalancer",
      ports: [
        { worker: 0, port: 8443 },
        { worker: 1, port: 8444 },
        { worker: 2, port: 8445 },
      ],
      summary: "UDP and TCP 8443-8445 on the load balancer of Service rtcd-rtc",
    });
  });

  it("warns when spec.env sets what spec.rtcd.mediaWorkers decides", () => {
    const spec = ours(3, { env: [{ name: "RTCD_MEDIA_WORKERS", value: "0" }] });
    expect(out(spec).warnings).toContainEqual(
      expect.stringMatching(/^spec\.env: RTCD_MEDIA_WORKERS .*mediaWorkers/),
    );
    const one = out({ env: [{ name: "RTCD_MEDIA_WORKERS", value: "4" }] });
    expect(one.warnings).toContainEqual(
      expect.stringMatching(/^spec\.env: RTCD_MEDIA_WORKERS .*mediaWorkers/),
    );
  });
});

describe("kubectl get -o wide", () => {
  it("shows the media ports to open", () => {
    const version = (crd() as { spec: { versions: { additionalPrinterColumns: object[] }[] } }).spec
      .versions[0]!;
    expect(version.additionalPrinterColumns).toContainEqual({
      name: "Media",
      type: "string",
      jsonPath: ".status.mediaPorts.summary",
      priority: 1,
    });
  });
});

describe("validation of spec.rtcd.mediaWorkers", () => {
  const errors = (spec: MattermostRTCDSpec) =>
    validateOffline({ metadata: { name: "rtcd" }, spec } as Parameters<typeof validateOffline>[0]);

  it("Mattermost's rtcd has one port: more workers are refused, naming the image", () => {
    const mm = { image: { repository: "mattermost/rtcd", tag: "v1.2.3" } };
    expect(errors({ ...mm, rtcd: { mediaWorkers: 1 } })).toEqual([]);
    expect(errors(ours(2, mm))).toEqual([
      "spec.rtcd.mediaWorkers: must be 1 with Mattermost's rtcd image (mattermost/rtcd), which listens on one RTC port; more workers need this project's rtcd (mattermost-rtcd-mediasoup)",
    ]);
    expect(
      errors(ours(2, { image: { repository: "registry.example/mattermost/rtcd", tag: "v1" } })),
    ).toHaveLength(1);
    expect(errors(ours(4))).toEqual([]);
  });

  it("bounds: 1 to 64, node ports and the API port outside the workers' range", () => {
    expect(errors(ours(0))).toEqual(["spec.rtcd.mediaWorkers: must be at least 1"]);
    expect(errors(ours(65))).toEqual(["spec.rtcd.mediaWorkers: must be at most 64"]);
    expect(errors(ours(3, { networking: { mode: "NodePort", nodePort: 32766 } }))).toEqual([
      "spec.networking.nodePort: with spec.rtcd.mediaWorkers N, the node ports nodePort to nodePort+N-1 must all lie in 30000-32767",
    ]);
    expect(errors(ours(3, { networking: { mode: "NodePort", nodePort: 32765 } }))).toEqual([]);
    expect(errors(ours(3, { apiPort: 8445 }))).toEqual([
      "spec.apiPort: must lie outside spec.rtcPort to spec.rtcPort+spec.rtcd.mediaWorkers-1 (the workers' RTC ports)",
    ]);
    expect(errors(ours(3, { apiPort: 8446 }))).toEqual([]);
    // Several NodePort workers listen on their node ports in the pod.
    const nodePort = (apiPort: number, n = 3) =>
      errors(ours(n, { apiPort, networking: { mode: "NodePort", nodePort: 30443 } }));
    expect(nodePort(30444)).toEqual([
      "spec.apiPort: must lie outside spec.networking.nodePort to nodePort+spec.rtcd.mediaWorkers-1 (with several workers in NodePort mode, the ports they listen on)",
    ]);
    expect(nodePort(30446)).toEqual([]);
    expect(nodePort(30443, 1)).toEqual([]);
  });
});
