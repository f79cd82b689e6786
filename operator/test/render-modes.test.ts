import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type {
  KubernetesObject,
  V1DaemonSet,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
} from "@kubernetes/client-node";
import { applyDefaults, type MattermostRTCD, type MattermostRTCDSpec } from "../src/api/index.ts";
import { referencedSecrets, render } from "../src/render/index.ts";
import { config, deployment, find, kinds, out, pod } from "./render-fixtures.ts";

describe("render: networking modes", () => {
  it("keeps only ready pods in the headless API Service", () => {
    const svc = find<V1Service>(out().objects, "Service", "rtcd")!;
    expect(svc.spec).toEqual({
      type: "ClusterIP",
      clusterIP: "None",
      selector: { "app.kubernetes.io/name": "mattermost-rtcd", "app.kubernetes.io/instance": "rtcd" },
      ports: [{ name: "api", port: 8045, targetPort: "api", protocol: "TCP" }],
    });
    // Unset is false: not-ready (and terminating) pods stay out of DNS.
    expect(svc.spec!.publishNotReadyAddresses).toBeUndefined();
  });

  it("HostPort: host ports for RTC only, pod network", () => {
    const p = pod({ networking: { mode: "HostPort" } });
    expect(p.hostNetwork).toBeUndefined();
    expect(p.dnsPolicy).toBeUndefined();
    expect(p.containers[0]!.ports!.map((x) => x.hostPort)).toEqual([undefined, 8443, 8443]);
    expect(kinds({ networking: { mode: "HostPort" } })).not.toContain("Service/rtcd-rtc");
  });

  it("NodePort: an RTC Service on one node port for UDP and TCP, advertised to clients", () => {
    const spec: MattermostRTCDSpec = { networking: { mode: "NodePort", nodePort: 30443 } };
    const svc = find<V1Service>(out(spec).objects, "Service", "rtcd-rtc")!;
    expect(svc.spec).toMatchObject({ type: "NodePort", externalTrafficPolicy: "Local" });
    expect(svc.spec!.ports).toEqual([
      { name: "rtc-udp", port: 8443, targetPort: "rtc-udp", protocol: "UDP", nodePort: 30443 },
      { name: "rtc-tcp", port: 8443, targetPort: "rtc-tcp", protocol: "TCP", nodePort: 30443 },
    ]);
    expect(config(spec).RTCD_RTC_ICEHOSTPORTOVERRIDE).toBe("30443");
    expect(pod(spec).containers[0]!.ports!.every((x) => x.hostPort === undefined)).toBe(true);
    expect(config().RTCD_RTC_ICEHOSTPORTOVERRIDE).toBeUndefined();
  });

  it("LoadBalancer: class, annotations and source ranges, and a warning for several replicas", () => {
    const spec: MattermostRTCDSpec = {
      networking: {
        mode: "LoadBalancer",
        externalTrafficPolicy: "Cluster",
        loadBalancer: {
          annotations: { "lb/type": "nlb" },
          loadBalancerClass: "acme/lb",
          sourceRanges: ["10.0.0.0/8"],
        },
      },
    };
    const { objects, warnings } = out(spec);
    const svc = find<V1Service>(objects, "Service", "rtcd-rtc")!;
    expect(svc.metadata!.annotations!["lb/type"]).toBe("nlb");
    expect(svc.spec).toMatchObject({
      type: "LoadBalancer",
      externalTrafficPolicy: "Cluster",
      loadBalancerClass: "acme/lb",
      loadBalancerSourceRanges: ["10.0.0.0/8"],
    });
    expect(warnings.some((w) => w.startsWith("spec.networking.mode: a LoadBalancer"))).toBe(true);
    expect(warnings.some((w) => w.startsWith("spec.rtcd.iceHostOverride"))).toBe(true);
    const single = out({ ...spec, replicas: 1, rtcd: { iceHostOverride: { host: "lb.example.com" } } });
    expect(single.warnings).toEqual([]);
  });
});

describe("render: workload kinds and optional objects", () => {
  it("DaemonSet: no replicas, its own update strategy, no PDB unless asked", () => {
    const ds = find<V1DaemonSet>(out({ deploymentType: "DaemonSet" }).objects, "DaemonSet", "rtcd")!;
    expect(ds.spec!).not.toHaveProperty("replicas");
    expect(ds.spec!.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });
    expect(kinds({ deploymentType: "DaemonSet" })).not.toContain("Deployment/rtcd");
    expect(kinds({ deploymentType: "DaemonSet" })).not.toContain("PodDisruptionBudget/rtcd");
    expect(
      kinds({ deploymentType: "DaemonSet", podDisruptionBudget: { enabled: true, maxUnavailable: 1 } }),
    ).toContain("PodDisruptionBudget/rtcd");
    const onDelete = out({ deploymentType: "DaemonSet", updateStrategy: { type: "OnDelete" } }).objects;
    expect(find<V1DaemonSet>(onDelete, "DaemonSet", "rtcd")!.spec!.updateStrategy).toEqual({
      type: "OnDelete",
    });
    expect(deployment({ updateStrategy: { type: "Recreate" } }).spec!.strategy).toEqual({ type: "Recreate" });
  });

  it("PDB: one budget, removed when disabled", () => {
    const pdb = (spec: MattermostRTCDSpec) =>
      find<V1PodDisruptionBudget>(out(spec).objects, "PodDisruptionBudget", "rtcd");
    expect(pdb({})!.spec).toEqual({
      selector: {
        matchLabels: { "app.kubernetes.io/name": "mattermost-rtcd", "app.kubernetes.io/instance": "rtcd" },
      },
      maxUnavailable: 1,
    });
    expect(pdb({ podDisruptionBudget: { minAvailable: "50%" } })!.spec).toMatchObject({
      minAvailable: "50%",
    });
    expect(pdb({ podDisruptionBudget: { minAvailable: "50%" } })!.spec).not.toHaveProperty("maxUnavailable");
    expect(pdb({ podDisruptionBudget: { enabled: false } })).toBeUndefined();
  });

  it("ServiceMonitor: only when enabled and its CRD exists, otherwise a warning", () => {
    expect(kinds({}, true)).not.toContain("ServiceMonitor/rtcd");
    const spec: MattermostRTCDSpec = { serviceMonitor: { enabled: true, labels: { release: "prom" } } };
    const on = out(spec, true).objects.find((o) => o.kind === "ServiceMonitor")! as KubernetesObject & {
      spec: { endpoints: unknown[] };
    };
    expect(on.metadata!.labels!.release).toBe("prom");
    expect(on.spec.endpoints).toEqual([{ port: "api", path: "/metrics", interval: "30s", scheme: "http" }]);
    const off = out(spec, false);
    expect(off.objects.some((o) => o.kind === "ServiceMonitor")).toBe(false);
    expect(off.warnings[0]).toMatch(/^spec\.serviceMonitor\.enabled: .*not installed/);
  });

  it("ServiceAccount: created by default, or the named/default one is used", () => {
    expect(kinds({ serviceAccount: { create: false } })).not.toContain("ServiceAccount/rtcd");
    expect(pod({ serviceAccount: { create: false } }).serviceAccountName).toBe("default");
    expect(pod({ serviceAccount: { create: false, name: "shared" } }).serviceAccountName).toBe("shared");
    const sa = out({ serviceAccount: { name: "custom", annotations: { iam: "role" } } }).objects[0]!;
    expect(sa).toMatchObject({
      kind: "ServiceAccount",
      metadata: { name: "custom", annotations: { iam: "role" } },
      automountServiceAccountToken: false,
    });
  });

  it("passes scheduling fields through", () => {
    const p = pod({
      nodeSelector: { pool: "rtcd" },
      tolerations: [{ key: "rtcd", operator: "Equal", value: "true", effect: "NoSchedule" }],
      dnsConfig: { options: [{ name: "ndots", value: "1" }] },
      imagePullSecrets: [{ name: "regcred" }],
      priorityClassName: "high",
      resources: { requests: { cpu: "100m", memory: "32Mi" } },
    });
    expect(p).toMatchObject({
      nodeSelector: { pool: "rtcd" },
      tolerations: [{ key: "rtcd", effect: "NoSchedule" }],
      dnsConfig: { options: [{ name: "ndots", value: "1" }] },
      imagePullSecrets: [{ name: "regcred" }],
      priorityClassName: "high",
    });
    expect(p.containers[0]!.resources).toEqual({ requests: { cpu: "100m", memory: "32Mi" } });
  });
});

describe("the sample", () => {
  it("needs no pre-existing Secret and spreads 2 replicas over zones", () => {
    const sample = parse(
      readFileSync(new URL("../config/samples/mattermostrtcd.yaml", import.meta.url), "utf8"),
    ) as MattermostRTCD;
    sample.metadata!.namespace = "default";
    const c = applyDefaults(sample);
    expect(c.metadata!.name).toBe("rtcd");
    expect(referencedSecrets(c)).toEqual([]);
    const { objects, warnings } = render(c, { serviceMonitorAvailable: false });
    expect(warnings).toEqual([]);
    const d = find<V1Deployment>(objects, "Deployment", "rtcd")!;
    expect(d.spec!.replicas).toBe(2);
    expect(
      d.spec!.template.spec!.affinity!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution![0]!
        .topologyKey,
    ).toBe("topology.kubernetes.io/zone");
  });
});
