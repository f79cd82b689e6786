// configuration.mediaWorkers in direct mode: our rtcd's worker i listens on
// RTC port + i, and every networking mode exposes each worker's port (one
// worker, the default, renders exactly as before). The parity test checks
// the same values against the operator's render.
import { describe, expect, test } from "vitest";
import {
  container,
  envOf,
  find,
  render,
  renderError,
  renderNotes,
  type Values,
} from "../../src/chart/render.ts";

type Port = { name: string; containerPort?: number; hostPort?: number; port?: number; protocol: string };

const withWorkers = (n: number, values: Values = {}): Values => ({
  ...values,
  configuration: { ...(values["configuration"] as object), mediaWorkers: n },
});
const workload = (values: Values, kind = "Deployment") => find(render(values), kind);
const rtcContainerPorts = (values: Values, kind = "Deployment"): Port[] =>
  container(workload(values, kind)).ports.filter((p: Port) => p.name !== "api");
const servicePorts = (values: Values, name = "mattermost-rtcd"): Port[] =>
  find(render(values), "Service", name).spec.ports.filter((p: Port) => p.name !== "api");

const HOST_PORT: Values = { networking: { hostNetwork: false } };
const NODE_PORT: Values = {
  networking: { hostNetwork: false },
  service: { type: "NodePort", nodePorts: { rtc: 30443 } },
};
const LOAD_BALANCER: Values = {
  networking: { hostNetwork: false },
  configuration: { replicas: 1 },
  service: { type: "LoadBalancer" },
};
const PER_REPLICA: Values = {
  networking: { hostNetwork: false },
  configuration: { replicas: 2 },
  service: {
    type: "LoadBalancer",
    perReplicaLoadBalancer: { enabled: true, iceHostOverride: "rtcd-$(POD_INDEX).example.com" },
  },
};

describe("one media worker (the default) is the one-port chart", () => {
  test.for<[string, Values]>([
    ["host networking", {}],
    ["hostPorts", HOST_PORT],
    ["NodePort", NODE_PORT],
    ["LoadBalancer", LOAD_BALANCER],
    ["a load balancer per replica", PER_REPLICA],
  ])("%s: configuration.mediaWorkers 1 renders what the defaults render", ([, values]) => {
    expect(render(withWorkers(1, values))).toEqual(render(values));
  });

  test("no RTCD_MEDIA_WORKERS; NodePort advertises its node port through the override", () => {
    expect(envOf(workload({}))).not.toHaveProperty("RTCD_MEDIA_WORKERS");
    expect(envOf(workload(NODE_PORT)).RTCD_RTC_ICEHOSTPORTOVERRIDE).toBe("30443");
  });
});

describe("three media workers", () => {
  const three = (values: Values) => withWorkers(3, values);

  test("tell rtcd to run three workers", () => {
    expect(envOf(workload(three({}))).RTCD_MEDIA_WORKERS).toBe("3");
  });

  test.for<[string, Values]>([
    ["host networking", {}],
    ["hostPorts (ClusterIP with useHostPort)", HOST_PORT],
  ])("%s: a host port per worker and protocol, each advertised as itself", ([, values]) => {
    expect(rtcContainerPorts(three(values))).toEqual([
      { name: "rtc-udp", containerPort: 8443, hostPort: 8443, protocol: "UDP" },
      { name: "rtc-tcp", containerPort: 8443, hostPort: 8443, protocol: "TCP" },
      { name: "rtc-udp-1", containerPort: 8444, hostPort: 8444, protocol: "UDP" },
      { name: "rtc-tcp-1", containerPort: 8444, hostPort: 8444, protocol: "TCP" },
      { name: "rtc-udp-2", containerPort: 8445, hostPort: 8445, protocol: "UDP" },
      { name: "rtc-tcp-2", containerPort: 8445, hostPort: 8445, protocol: "TCP" },
    ]);
    expect(envOf(workload(three(values)))).not.toHaveProperty("RTCD_RTC_ICEHOSTPORTOVERRIDE");
  });

  test("a DaemonSet gets the same ports", () => {
    expect(rtcContainerPorts(three({ deploymentType: "daemonset" }), "DaemonSet")).toHaveLength(6);
  });

  test("NodePort: a node port per worker; each worker listens on (and so advertises) its node port", () => {
    const values = three(NODE_PORT);
    expect(servicePorts(values)).toEqual([
      { name: "rtc-udp", port: 8443, targetPort: "rtc-udp", protocol: "UDP", nodePort: 30443 },
      { name: "rtc-tcp", port: 8443, targetPort: "rtc-tcp", protocol: "TCP", nodePort: 30443 },
      { name: "rtc-udp-1", port: 8444, targetPort: "rtc-udp-1", protocol: "UDP", nodePort: 30444 },
      { name: "rtc-tcp-1", port: 8444, targetPort: "rtc-tcp-1", protocol: "TCP", nodePort: 30444 },
      { name: "rtc-udp-2", port: 8445, targetPort: "rtc-udp-2", protocol: "UDP", nodePort: 30445 },
      { name: "rtc-tcp-2", port: 8445, targetPort: "rtc-tcp-2", protocol: "TCP", nodePort: 30445 },
    ]);
    expect(rtcContainerPorts(values).map((p) => [p.name, p.containerPort, p.hostPort])).toEqual([
      ["rtc-udp", 30443, undefined],
      ["rtc-tcp", 30443, undefined],
      ["rtc-udp-1", 30444, undefined],
      ["rtc-tcp-1", 30444, undefined],
      ["rtc-udp-2", 30445, undefined],
      ["rtc-tcp-2", 30445, undefined],
    ]);
    const env = envOf(workload(values));
    // One override would be advertised by every worker alike.
    expect(env).not.toHaveProperty("RTCD_RTC_ICEHOSTPORTOVERRIDE");
    expect([env.RTCD_RTC_ICEPORTUDP, env.RTCD_RTC_ICEPORTTCP]).toEqual(["30443", "30443"]);
  });

  test("LoadBalancer: a port per worker on the load balancer", () => {
    expect(servicePorts(three(LOAD_BALANCER))).toEqual([
      { name: "rtc-udp", port: 8443, targetPort: "rtc-udp", protocol: "UDP" },
      { name: "rtc-tcp", port: 8443, targetPort: "rtc-tcp", protocol: "TCP" },
      { name: "rtc-udp-1", port: 8444, targetPort: "rtc-udp-1", protocol: "UDP" },
      { name: "rtc-tcp-1", port: 8444, targetPort: "rtc-tcp-1", protocol: "TCP" },
      { name: "rtc-udp-2", port: 8445, targetPort: "rtc-udp-2", protocol: "UDP" },
      { name: "rtc-tcp-2", port: 8445, targetPort: "rtc-tcp-2", protocol: "TCP" },
    ]);
    expect(rtcContainerPorts(three(LOAD_BALANCER))).toHaveLength(6);
  });

  test("a load balancer per replica: each replica's load balancer has every worker's port", () => {
    for (const i of [0, 1])
      expect(
        servicePorts(three(PER_REPLICA), `mattermost-rtcd-rtc-${i}`).map((p) => [p.name, p.port]),
      ).toEqual([
        ["rtc-udp", 8443],
        ["rtc-tcp", 8443],
        ["rtc-udp-1", 8444],
        ["rtc-tcp-1", 8444],
        ["rtc-udp-2", 8445],
        ["rtc-tcp-2", 8445],
      ]);
    expect(rtcContainerPorts(three(PER_REPLICA), "StatefulSet")).toHaveLength(6);
  });

  test("operator mode: the MattermostRTCD asks for three workers", () => {
    const cr = find(
      render(three({ operator: { enabled: true, crds: { install: false } } }), {
        args: ["--api-versions", "rtcd.mattermost.com/v1alpha1/MattermostRTCD"],
      }),
      "MattermostRTCD",
    );
    expect(cr.spec.rtcd.mediaWorkers).toBe(3);
  });
});

describe("refused", () => {
  test.for<[string, Values, RegExp]>([
    [
      "more workers with Mattermost's image",
      withWorkers(2, { image: { repository: "mattermost/rtcd", tag: "v1.2.6" } }),
      /configuration.mediaWorkers: Mattermost's rtcd \(mattermost\/rtcd\) listens on one RTC port; keep 1, or use this project's rtcd/,
    ],
    [
      "the API port among the workers' ports",
      withWorkers(3, { service: { APIport: 8444 } }),
      /service.APIport 8444 is one of the media workers' ports 8443-8445/,
    ],
    [
      "RTCD_MEDIA_WORKERS beside configuration.mediaWorkers",
      withWorkers(3, {
        configuration: { mediaWorkers: 3, environmentVariables: { RTCD_MEDIA_WORKERS: "3" } },
      }),
      /configuration.environmentVariables.RTCD_MEDIA_WORKERS: set configuration.mediaWorkers instead/,
    ],
    ["no workers", withWorkers(0), /mediaWorkers/],
  ])("%s", ([, values, message]) => {
    expect(renderError(values)).toMatch(message);
  });
});

describe("release notes say which ports to open", () => {
  test("one worker: one port", () => {
    expect(renderNotes({})).toContain("UDP 8443, TCP as fallback");
  });

  test("operator mode: where the MattermostRTCD's status lists them", () => {
    const notes = renderNotes(withWorkers(3, { operator: { enabled: true, crds: { install: false } } }), {
      args: ["--api-versions", "rtcd.mattermost.com/v1alpha1/MattermostRTCD"],
    });
    expect(notes).toContain(
      "kubectl -n rtcd get mattermostrtcd mattermost-rtcd -o jsonpath='{.status.mediaPorts.summary}'",
    );
  });

  test.for<[string, Values, string]>([
    ["host networking", {}, "UDP 8443-8445, one port per media worker, TCP as fallback"],
    ["NodePort", NODE_PORT, "UDP 30443-30445, one port per media worker, TCP as fallback"],
    ["LoadBalancer", LOAD_BALANCER, "UDP 8443-8445, one port per media worker, TCP as fallback"],
  ])("three workers, %s: the range", ([, values, line]) => {
    expect(renderNotes(withWorkers(3, values))).toContain(line);
  });
});
