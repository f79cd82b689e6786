// Direct mode's networking modes and the objects around the workload: the
// headless Service the Calls plugin discovers rtcd by, NodePort, LoadBalancer
// (one, and one per replica), the Ingress on the API port, the PDB, the
// ServiceMonitor and the `helm test` hook.
import { describe, expect, test } from "vitest";
import { container, envOf, find, findAll, render, renderError, type Values } from "../../src/chart/render.ts";

const names = (objects: { kind: string; metadata: { name: string } }[]) =>
  objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

describe("NodePort mode", () => {
  const values = {
    networking: { hostNetwork: false },
    service: { type: "NodePort", nodePorts: { api: 30045, rtc: 30443 } },
  };
  const objects = render(values);
  const deploy = find(objects, "Deployment");

  test("the Service exposes the node ports; a headless Service is added for discovery", () => {
    const svc = find(objects, "Service", "mattermost-rtcd");
    expect(svc.spec.type).toBe("NodePort");
    expect(svc.spec.clusterIP).toBeUndefined();
    expect(svc.spec.externalTrafficPolicy).toBe("Local");
    expect(svc.spec.ports).toEqual([
      { name: "api", port: 8045, targetPort: "api", protocol: "TCP", nodePort: 30045 },
      { name: "rtc-udp", port: 8443, targetPort: "rtc-udp", protocol: "UDP", nodePort: 30443 },
      { name: "rtc-tcp", port: 8443, targetPort: "rtc-tcp", protocol: "TCP", nodePort: 30443 },
    ]);
    const headless = find(objects, "Service", "mattermost-rtcd-headless");
    expect(headless.spec).toMatchObject({ type: "ClusterIP", clusterIP: "None" });
    expect(headless.spec.ports).toEqual([{ name: "api", port: 8045, targetPort: "api", protocol: "TCP" }]);
  });

  test("rtcd advertises the node port; one pod per node; no host network or hostPorts", () => {
    expect(envOf(deploy).RTCD_RTC_ICEHOSTPORTOVERRIDE).toBe("30443");
    const pod = deploy.spec.template.spec;
    expect(pod.hostNetwork).toBeUndefined();
    expect(container(deploy).ports.every((p: { hostPort?: number }) => p.hostPort === undefined)).toBe(true);
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toContainEqual(
      expect.objectContaining({ topologyKey: "kubernetes.io/hostname" }),
    );
  });

  test("a zone-only anti-affinity (the seed's) gets the one-pod-per-node rule added", () => {
    const zoneOnly = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          {
            labelSelector: { matchLabels: { "app.kubernetes.io/name": "mattermost-rtcd" } },
            topologyKey: "topology.kubernetes.io/zone",
          },
        ],
      },
    };
    const terms = find(render({ ...values, affinity: zoneOnly }), "Deployment").spec.template.spec.affinity
      .podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(terms.map((t: { topologyKey: string }) => t.topologyKey)).toEqual([
      "topology.kubernetes.io/zone",
      "kubernetes.io/hostname",
    ]);
  });

  test.for<[string, Values, RegExp]>([
    [
      "without nodePorts.rtc",
      { networking: { hostNetwork: false }, service: { type: "NodePort" } },
      /service.nodePorts.rtc is required/,
    ],
    [
      "with host networking",
      { service: { type: "NodePort", nodePorts: { rtc: 30443 } } },
      /service.type NodePort needs networking.hostNetwork: false/,
    ],
    [
      "node ports on a ClusterIP Service",
      { service: { nodePorts: { rtc: 30443 } } },
      /service.nodePorts is only/,
    ],
  ])("refused %s, naming the keys", ([, v, message]) => {
    expect(renderError(v)).toMatch(message);
  });
});

describe("LoadBalancer mode", () => {
  test("one load balancer: clusterIP None is dropped (the API refuses it there), annotations kept", () => {
    const objects = render({
      networking: { hostNetwork: false },
      configuration: { replicas: 1 },
      service: { type: "LoadBalancer", annotations: { "lb.example.com/type": "nlb" } },
    });
    const svc = find(objects, "Service", "mattermost-rtcd");
    expect(svc.spec.type).toBe("LoadBalancer");
    expect(svc.spec.clusterIP).toBeUndefined();
    expect(svc.metadata.annotations).toEqual({ "lb.example.com/type": "nlb" });
    expect(find(objects, "Service", "mattermost-rtcd-headless").spec.clusterIP).toBe("None");
    // networking.useHostPort (true by default) is for host networking and ClusterIP mode only.
    expect(container(find(objects, "Deployment")).ports[0].hostPort).toBeUndefined();
  });

  describe("one load balancer per replica", () => {
    const objects = render({
      networking: { hostNetwork: false },
      configuration: { replicas: 2 },
      service: {
        type: "LoadBalancer",
        annotations: { shared: "yes" },
        perReplicaLoadBalancer: {
          enabled: true,
          iceHostOverride: "rtcd-$(POD_INDEX).calls.example.com",
          annotations: { "external-dns.alpha.kubernetes.io/hostname": "rtcd-$(POD_INDEX).calls.example.com" },
        },
      },
    });
    const sts = find(objects, "StatefulSet", "mattermost-rtcd");

    test("a StatefulSet, each replica behind its own LoadBalancer Service selecting its pod", () => {
      expect(names(objects)).toEqual([
        "Pod/mattermost-rtcd-test-version",
        "PodDisruptionBudget/mattermost-rtcd",
        "Service/mattermost-rtcd",
        "Service/mattermost-rtcd-rtc-0",
        "Service/mattermost-rtcd-rtc-1",
        "ServiceAccount/mattermost-rtcd",
        "StatefulSet/mattermost-rtcd",
      ]);
      expect(sts.spec).toMatchObject({
        replicas: 2,
        serviceName: "mattermost-rtcd",
        podManagementPolicy: "Parallel",
      });
      for (const i of [0, 1]) {
        const svc = find(objects, "Service", `mattermost-rtcd-rtc-${i}`);
        expect(svc.spec.type).toBe("LoadBalancer");
        expect(svc.spec.selector["statefulset.kubernetes.io/pod-name"]).toBe(`mattermost-rtcd-${i}`);
        expect(svc.spec.ports.map((p: { name: string }) => p.name)).toEqual(["rtc-udp", "rtc-tcp"]);
        expect(svc.metadata.annotations).toEqual({
          shared: "yes",
          "external-dns.alpha.kubernetes.io/hostname": `rtcd-${i}.calls.example.com`,
        });
      }
      // The main Service only serves discovery.
      expect(find(objects, "Service", "mattermost-rtcd").spec).toMatchObject({
        type: "ClusterIP",
        clusterIP: "None",
      });
    });

    test("each replica advertises its own load balancer's name", () => {
      const env = container(sts).env;
      expect(env).toContainEqual({
        name: "POD_INDEX",
        valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } },
      });
      expect(envOf(sts).RTCD_RTC_ICEHOSTOVERRIDE).toBe("rtcd-$(POD_INDEX).calls.example.com");
      // The kubelet expands $(POD_INDEX) only from variables defined before it.
      const names = env.map((e: { name: string }) => e.name);
      expect(names.indexOf("POD_INDEX")).toBeLessThan(names.indexOf("RTCD_RTC_ICEHOSTOVERRIDE"));
    });

    test.for<[string, Values, RegExp]>([
      [
        "with host networking",
        { service: { type: "LoadBalancer", perReplicaLoadBalancer: { enabled: true } } },
        /needs networking.hostNetwork: false/,
      ],
      [
        "without service.type LoadBalancer",
        { networking: { hostNetwork: false }, service: { perReplicaLoadBalancer: { enabled: true } } },
        /needs service.type: LoadBalancer/,
      ],
      [
        "with a DaemonSet",
        {
          deploymentType: "daemonset",
          networking: { hostNetwork: false },
          service: { type: "LoadBalancer", perReplicaLoadBalancer: { enabled: true } },
        },
        /needs deploymentType: deployment/,
      ],
    ])("refused %s", ([, v, message]) => {
      expect(renderError(v)).toMatch(message);
    });
  });
});

describe("host networking and hostPorts", () => {
  test("a port below 1024 on the node's network adds NET_BIND_SERVICE, nothing else", () => {
    const c = container(find(render({ service: { RTCport: 443 } }), "Deployment"));
    expect(c.securityContext.capabilities).toEqual({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] });
    const off = container(
      find(render({ networking: { hostNetwork: false }, service: { RTCport: 443 } }), "Deployment"),
    );
    expect(off.securityContext.capabilities).toEqual({ drop: ["ALL"] });
  });

  test("ClusterIP mode with useHostPort: hostPorts, no host network; without: neither", () => {
    const withPorts = find(render({ networking: { hostNetwork: false } }), "Deployment");
    expect(withPorts.spec.template.spec.hostNetwork).toBeUndefined();
    expect(container(withPorts).ports.map((p: { hostPort?: number }) => p.hostPort)).toEqual([
      8045, 8443, 8443,
    ]);
    const none = find(render({ networking: { hostNetwork: false, useHostPort: false } }), "Deployment");
    expect(container(none).ports.map((p: { hostPort?: number }) => p.hostPort)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  test("a ClusterIP Service with an address gets a headless one for discovery", () => {
    const objects = render({ service: { clusterIP: "" } });
    expect(find(objects, "Service", "mattermost-rtcd").spec.clusterIP).toBeUndefined();
    expect(find(objects, "Service", "mattermost-rtcd-headless").spec.clusterIP).toBe("None");
  });

  test("the Deployment's progress deadline covers the drain", () => {
    expect(find(render({}), "Deployment").spec.progressDeadlineSeconds).toBe(18600);
    expect(
      find(render({ configuration: { terminationGracePeriod: 60 } }), "Deployment").spec
        .progressDeadlineSeconds,
    ).toBe(660);
  });
});

describe("Ingress", () => {
  test("points at the API port (the official chart pointed it at the RTC port), with class, hosts and TLS", () => {
    const ing = find(
      render({
        ingress: {
          enabled: true,
          ingressclassname: "nginx",
          annotations: { "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600" },
          hosts: [{ host: "rtcd.example.com", paths: ["/"] }],
          tls: [{ hosts: ["rtcd.example.com"], secretName: "rtcd-tls" }],
        },
      }),
      "Ingress",
    );
    expect(ing.spec.ingressClassName).toBe("nginx");
    expect(ing.metadata.annotations).toEqual({ "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600" });
    expect(ing.spec.tls).toEqual([{ hosts: ["rtcd.example.com"], secretName: "rtcd-tls" }]);
    expect(ing.spec.rules).toEqual([
      {
        host: "rtcd.example.com",
        http: {
          paths: [
            {
              path: "/",
              pathType: "ImplementationSpecific",
              backend: { service: { name: "mattermost-rtcd", port: { name: "api" } } },
            },
          ],
        },
      },
    ]);
  });

  test("the guide's `classname` is an alias that wins; disabled renders nothing", () => {
    const ing = find(render({ ingress: { enabled: true, classname: "nginx-calls-2" } }), "Ingress");
    expect(ing.spec.ingressClassName).toBe("nginx-calls-2");
    expect(findAll(render({}), "Ingress")).toEqual([]);
  });
});

describe("PodDisruptionBudget", () => {
  test.for<[string, Values, object | undefined]>([
    ["default: one pod at a time", {}, { maxUnavailable: 1 }],
    [
      "minAvailable instead",
      { podDisruptionBudget: { maxUnavailable: null, minAvailable: "50%" } },
      { minAvailable: "50%" },
    ],
    ["disabled", { podDisruptionBudget: { enabled: false } }, undefined],
  ])("%s", ([, values, budget]) => {
    const pdbs = findAll(render(values), "PodDisruptionBudget");
    if (!budget) {
      expect(pdbs).toEqual([]);
      return;
    }
    expect(pdbs[0]?.spec).toEqual({
      ...budget,
      selector: {
        matchLabels: {
          "app.kubernetes.io/name": "mattermost-rtcd",
          "app.kubernetes.io/instance": "mattermost-rtcd",
        },
      },
    });
  });

  test("both set is refused, naming the keys", () => {
    expect(renderError({ podDisruptionBudget: { minAvailable: 1 } })).toMatch(
      /podDisruptionBudget: set minAvailable or maxUnavailable, not both/,
    );
  });
});

describe("ServiceMonitor", () => {
  test("scrapes /metrics on the API port of the discovery Service", () => {
    const objects = render({
      metrics: { serviceMonitor: { enabled: true, labels: { release: "prom" }, interval: "15s" } },
    });
    const sm = find(objects, "ServiceMonitor");
    expect(sm.metadata.labels?.["release"]).toBe("prom");
    expect(sm.spec.endpoints).toEqual([
      { port: "api", path: "/metrics", scheme: "http", interval: "15s", scrapeTimeout: "10s" },
    ]);
    expect(sm.spec.selector.matchLabels["app.kubernetes.io/component"]).toBe("api");
    expect(find(objects, "Service", "mattermost-rtcd").metadata.labels?.["app.kubernetes.io/component"]).toBe(
      "api",
    );
    expect(findAll(render({}), "ServiceMonitor")).toEqual([]);
  });
});

describe("helm test hook", () => {
  test("curls /version through the discovery Service, hardened, and can be turned off", () => {
    const pod = find(render({}), "Pod", "mattermost-rtcd-test-version");
    expect(pod.metadata.annotations?.["helm.sh/hook"]).toBe("test");
    const env = (pod.spec.containers[0].env as { name: string; value: string }[])[0];
    expect(env).toEqual({ name: "URL", value: "http://mattermost-rtcd.rtcd.svc:8045/version" });
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(pod.spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(findAll(render({ tests: { enabled: false } }), "Pod")).toEqual([]);
    const tls = find(
      render({ configuration: { environmentVariables: { RTCD_API_HTTP_TLS_ENABLE: "true" } } }),
      "Pod",
    );
    expect(tls.spec.containers[0].env[0].value).toBe("https://mattermost-rtcd.rtcd.svc:8045/version");
  });
});
