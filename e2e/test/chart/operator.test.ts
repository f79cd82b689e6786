// Operator mode: the operator's CRD, least-privilege RBAC and Deployment, the
// same as operator/config installs them, and a MattermostRTCD rendered from
// the same values that direct mode turns into a workload, valid for the API.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { applyDefaults, validateOffline, type MattermostRTCD } from "@mattermost-rtcd/operator/api";
import { releaseVersion as VERSION, repoRoot, seedValuesFile } from "../../src/chart/paths.ts";
import {
  chartWithCrd,
  find,
  findAll,
  render,
  renderError,
  type K8sObject,
  type RenderOptions,
  type Values,
} from "../../src/chart/render.ts";

const seed = { files: [seedValuesFile] };
const CR_API = ["--api-versions", "rtcd.mattermost.com/v1alpha1/MattermostRTCD"];
const chart = chartWithCrd();
const on = (values: Values = {}): Values => ({
  ...values,
  operator: { ...((values["operator"] ?? {}) as Values), enabled: true },
});
// In operator mode, with the chart that holds the CRD.
const renderOp = (values: Values = {}, opts: RenderOptions = {}) => render(on(values), { ...opts, chart });
const errorOp = (values: Values = {}, opts: RenderOptions = {}) =>
  renderError(on(values), { ...opts, chart });
const config = (file: string) =>
  parse(readFileSync(join(repoRoot, "operator/config", file), "utf8")) as K8sObject;

// The MattermostRTCD the chart renders for these values (the cluster serves its CRD).
function cr(values: Values = {}, opts: RenderOptions = seed): MattermostRTCD & K8sObject {
  return find(renderOp(values, { ...opts, args: CR_API }), "MattermostRTCD") as MattermostRTCD & K8sObject;
}

function validFor(resource: MattermostRTCD): string[] {
  return validateOffline(applyDefaults(structuredClone(resource)));
}

describe("operator mode with the seed's sample values", () => {
  const objects = renderOp({}, seed);
  const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

  test("installs the operator instead of the workload", () => {
    expect(kinds).toEqual(
      [
        "CustomResourceDefinition/mattermostrtcds.rtcd.mattermost.com",
        "Role/mattermost-rtcd-operator",
        "RoleBinding/mattermost-rtcd-operator",
        "Deployment/mattermost-rtcd-operator",
        "Role/mattermost-rtcd-operator-leader-election",
        "RoleBinding/mattermost-rtcd-operator-leader-election",
        "ServiceAccount/mattermost-rtcd-operator",
      ].sort(),
    );
  });

  test("the MattermostRTCD waits until the cluster serves its CRD (customResource: auto)", () => {
    expect(findAll(objects, "MattermostRTCD")).toEqual([]);
    expect(
      findAll(renderOp({ operator: { customResource: "always" } }, seed), "MattermostRTCD"),
    ).toHaveLength(1);
    expect(
      findAll(
        renderOp({ operator: { customResource: "never" } }, { ...seed, args: CR_API }),
        "MattermostRTCD",
      ),
    ).toEqual([]);
  });

  test("RBAC: the rules of operator/config/rbac in the release namespace only, bound to the operator's service account", () => {
    const role = find(objects, "Role", "mattermost-rtcd-operator");
    expect((role.metadata as { namespace?: string }).namespace).toBe("rtcd");
    expect(role.rules).toEqual(config("rbac/cluster_role.yaml").rules);
    expect(find(objects, "Role", "mattermost-rtcd-operator-leader-election").rules).toEqual(
      config("rbac/leader_election_role.yaml").rules,
    );
    for (const b of findAll(objects, "RoleBinding")) {
      expect(b.subjects).toEqual([
        { kind: "ServiceAccount", name: "mattermost-rtcd-operator", namespace: "rtcd" },
      ]);
    }
    expect(find(objects, "RoleBinding", "mattermost-rtcd-operator").roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "mattermost-rtcd-operator",
    });
    const args = find(objects, "Deployment", "mattermost-rtcd-operator").spec.template.spec.containers[0]
      .args;
    expect(args.filter((a: string) => a.startsWith("--namespace"))).toEqual(["--namespace=rtcd"]);
  });

  test("operator.clusterWide: a ClusterRole and every namespace, as an explicit choice", () => {
    const wide = renderOp({ operator: { clusterWide: true } }, seed);
    expect(find(wide, "ClusterRole").rules).toEqual(config("rbac/cluster_role.yaml").rules);
    expect(find(wide, "ClusterRoleBinding").roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "mattermost-rtcd-operator-rtcd",
    });
    expect(findAll(wide, "Role").map((r) => r.metadata.name)).toEqual([
      "mattermost-rtcd-operator-leader-election",
    ]);
    const args = find(wide, "Deployment", "mattermost-rtcd-operator").spec.template.spec.containers[0].args;
    expect(args.filter((a: string) => a.startsWith("--namespace"))).toEqual([]);
    expect(errorOp({ operator: { clusterWide: true, watchNamespaces: ["rtcd"] } }, seed)).toMatch(
      /operator.clusterWide and operator.watchNamespaces exclude each other/,
    );
  });

  test("the Deployment runs the operator as operator/config/manager does", () => {
    const want = config("manager/deployment.yaml");
    const got = find(objects, "Deployment", "mattermost-rtcd-operator");
    const [wc, gc] = [want.spec.template.spec.containers[0], got.spec.template.spec.containers[0]];
    expect(got.spec.replicas).toBe(want.spec.replicas);
    expect(got.spec.template.spec.securityContext).toEqual(want.spec.template.spec.securityContext);
    expect(got.spec.template.spec.terminationGracePeriodSeconds).toBe(
      want.spec.template.spec.terminationGracePeriodSeconds,
    );
    expect(got.spec.template.spec.serviceAccountName).toBe("mattermost-rtcd-operator");
    expect(gc.image).toBe(`mattermost-rtcd-operator:${VERSION}`);
    expect(gc.command).toBeUndefined();
    // Plus the release namespace: the chart watches only it by default (the kustomization, all).
    expect(gc.args).toEqual([
      ...wc.args,
      "--log-level=info",
      "--cluster-domain=cluster.local",
      "--namespace=rtcd",
    ]);
    for (const key of ["env", "livenessProbe", "readinessProbe", "resources", "securityContext"]) {
      expect(gc[key], key).toEqual(wc[key]);
    }
    expect(gc.ports).toEqual(wc.ports.map((p: object) => ({ ...p, protocol: "TCP" })));
    // Not selected by the rtcd pods' anti-affinity (app.kubernetes.io/name: mattermost-rtcd).
    expect(got.spec.template.metadata.labels["app.kubernetes.io/name"]).toBe("mattermost-rtcd-operator");
  });

  test("the CRD is the generated one, kept on uninstall", () => {
    const file = parse(
      readFileSync(join(chart, "files/crds/rtcd.mattermost.com_mattermostrtcds.yaml"), "utf8"),
    ) as K8sObject;
    const crd = find(objects, "CustomResourceDefinition");
    expect(crd.spec).toEqual(file.spec);
    expect(crd.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    expect(crd.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");
    expect(
      findAll(renderOp({ operator: { crds: { install: false } } }, seed), "CustomResourceDefinition"),
    ).toEqual([]);
  });

  test("the MattermostRTCD carries the seed's values as typed fields", () => {
    const r = cr();
    expect(r.metadata.name).toBe("mattermost-rtcd");
    expect(r.spec).toEqual({
      image: { repository: "mattermost/rtcd", tag: "v0.9.0", pullPolicy: "IfNotPresent" },
      deploymentType: "Deployment",
      replicas: 2,
      updateStrategy: { type: "RollingUpdate", maxUnavailable: 1 },
      terminationGracePeriodSeconds: 18000,
      apiPort: 8045,
      rtcPort: 8443,
      resources: { limits: { cpu: "7800m", memory: "15Gi" }, requests: { cpu: "100m", memory: "32Mi" } },
      nodeSelector: { "kops.k8s.io/instancegroup": "rtcd" },
      tolerations: [{ key: "rtcd", operator: "Equal", value: "true", effect: "NoSchedule" }],
      affinity: parse(readFileSync(seedValuesFile, "utf8")).affinity,
      dnsConfig: { options: [{ name: "ndots", value: "1" }] },
      podSecurityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        fsGroup: 65532,
        seccompProfile: { type: "RuntimeDefault" },
      },
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      },
      probes: {
        endpoints: "Auto",
        readiness: { initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
        liveness: { initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
        media: { intervalSeconds: 300, timeoutSeconds: 10 },
      },
      serviceAccount: { create: true },
      rtcd: {
        iceServers: [{ urls: ["stun:stun.global.calls.mattermost.com:3478"] }],
        logging: { level: "DEBUG" },
        security: { allowSelfRegistration: true },
      },
      networking: { mode: "HostNetwork" },
      podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
      serviceMonitor: { enabled: false, interval: "30s" },
    });
    expect(validFor(r)).toEqual([]);
  });
});

describe("the MattermostRTCD for other values", () => {
  test.for<[string, Values, (spec: MattermostRTCD["spec"] & Record<string, unknown>) => void]>([
    [
      "a DaemonSet has no replicas",
      { deploymentType: "daemonset", configuration: { updateStrategy: "OnDelete" } },
      (s) => {
        expect(s.deploymentType).toBe("DaemonSet");
        expect(s.replicas).toBeUndefined();
        expect(s.updateStrategy).toEqual({ type: "OnDelete" });
      },
    ],
    [
      "the media probe turned off (0 is a value, not an absence)",
      { configuration: { probes: { media: { intervalSeconds: 0 } } } },
      (s) => expect(s.probes?.media).toEqual({ intervalSeconds: 0, timeoutSeconds: 10 }),
    ],
    [
      "NodePort mode",
      {
        networking: { hostNetwork: false },
        service: { type: "NodePort", nodePorts: { rtc: 30443 }, externalTrafficPolicy: "Local" },
      },
      (s) =>
        expect(s.networking).toEqual({ mode: "NodePort", nodePort: 30443, externalTrafficPolicy: "Local" }),
    ],
    [
      "LoadBalancer mode with annotations",
      {
        networking: { hostNetwork: false },
        configuration: { replicas: 1 },
        service: { type: "LoadBalancer", annotations: { a: "b" }, externalTrafficPolicy: "Cluster" },
      },
      (s) =>
        expect(s.networking).toEqual({
          mode: "LoadBalancer",
          loadBalancer: { annotations: { a: "b" } },
          externalTrafficPolicy: "Cluster",
        }),
    ],
    [
      "HostPort mode",
      { networking: { hostNetwork: false, useHostPort: true } },
      (s) => expect(s.networking).toEqual({ mode: "HostPort" }),
    ],
    [
      "secrets go through the chart's Secret; unknown variables stay env",
      {
        configuration: {
          environmentVariables: {
            RTCD_API_SECURITY_ADMINSECRETKEY: '"s3cret-admin-key-of-32-characters!!"',
            RTCD_RTC_TURNCONFIG_STATICAUTHSECRET: "turn-secret",
            RTCD_RTC_ICEHOSTOVERRIDE: "1.2.3.4/10.0.0.1,5.6.7.8/10.0.0.2",
            RTCD_RTC_ICESERVERS: '["stun:a:3478","turn:b:3478"]',
            RTCD_LOGGER_CONSOLEJSON: "true",
            RTCD_RTC_NACKBUFFERSIZE: 512,
          },
          extraEnv: [{ name: "X", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
        },
      },
      (s) => {
        expect(s.rtcd).toEqual({
          iceServers: [{ urls: ["stun:a:3478"] }, { urls: ["turn:b:3478"] }],
          iceHostOverride: {
            mappings: [
              { external: "1.2.3.4", internal: "10.0.0.1" },
              { external: "5.6.7.8", internal: "10.0.0.2" },
            ],
          },
          logging: { format: "json" },
          security: {
            adminSecretRef: { name: "mattermost-rtcd-env", key: "RTCD_API_SECURITY_ADMINSECRETKEY" },
          },
          turn: {
            staticAuthSecretRef: { name: "mattermost-rtcd-env", key: "RTCD_RTC_TURNCONFIG_STATICAUTHSECRET" },
          },
        });
        expect(s.env).toEqual([
          { name: "RTCD_RTC_NACKBUFFERSIZE", value: "512" },
          { name: "X", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
        ]);
      },
    ],
    [
      "ICE servers with TURN credentials stay an environment variable",
      {
        configuration: {
          environmentVariables: {
            RTCD_RTC_ICESERVERS: '[{"urls":["turn:t:3478"],"username":"u","credential":"c"}]',
          },
        },
      },
      (s) => {
        expect(s.rtcd).toEqual({});
        expect(s.env).toEqual([
          {
            name: "RTCD_RTC_ICESERVERS",
            value: '[{"urls":["turn:t:3478"],"username":"u","credential":"c"}]',
          },
        ]);
      },
    ],
    [
      "the chart's defaults",
      {},
      (s) => {
        expect(s.image).toEqual({
          repository: "mattermost-rtcd-mediasoup",
          tag: VERSION,
          pullPolicy: "IfNotPresent",
        });
        expect(s.rtcd).toEqual({ iceServers: [] });
        expect(s.affinity).toEqual(find(render({}), "Deployment").spec.template.spec.affinity);
      },
    ],
  ])("%s", ([, values, check]) => {
    const r = cr(values, {});
    check(r.spec as MattermostRTCD["spec"] & Record<string, unknown>);
    expect(validFor(r)).toEqual([]);
  });

  test("the secret values are in the chart's Secret, not in the resource", () => {
    const objects = render(
      on({ configuration: { environmentVariables: { RTCD_API_SECURITY_ADMINSECRETKEY: "k".repeat(32) } } }),
      { args: CR_API },
    );
    expect(find(objects, "Secret", "mattermost-rtcd-env").stringData).toEqual({
      RTCD_API_SECURITY_ADMINSECRETKEY: "k".repeat(32),
    });
    expect(JSON.stringify(find(objects, "MattermostRTCD"))).not.toContain("k".repeat(32));
  });

  test.for<[string, Values, RegExp]>([
    [
      "envFrom",
      { configuration: { envFrom: [{ secretRef: { name: "x" } }] } },
      /configuration.envFrom is not supported/,
    ],
    [
      "extraVolumes",
      { configuration: { extraVolumes: [{ name: "x", emptyDir: {} }] } },
      /configuration.extraVolumes/,
    ],
    [
      "per-replica load balancers",
      {
        networking: { hostNetwork: false },
        service: { type: "LoadBalancer", perReplicaLoadBalancer: { enabled: true } },
      },
      /service.perReplicaLoadBalancer is not supported/,
    ],
    ["an Ingress", { ingress: { enabled: true } }, /ingress.enabled is not supported/],
    [
      "rtcd TLS",
      { configuration: { environmentVariables: { RTCD_API_HTTP_TLS_ENABLE: '"true"' } } },
      /RTCD_API_HTTP_TLS_ENABLE .* is not supported with operator.enabled/,
    ],
    [
      "a name the API refuses",
      { fullnameOverride: "r".repeat(60) },
      /the MattermostRTCD is named "r+" .* at most 59 characters/,
    ],
    [
      "no way for media to reach rtcd",
      { networking: { hostNetwork: false, useHostPort: false } },
      /set networking.useHostPort true/,
    ],
  ])("refuses what the API cannot express: %s", ([, values, message]) => {
    expect(errorOp(values, { args: CR_API })).toMatch(message);
    // Already on the first install, before the resource is rendered.
    expect(errorOp(values)).toMatch(message);
  });
});

describe("operator.watchNamespaces", () => {
  const objects = renderOp({ operator: { watchNamespaces: ["rtcd", "team-b"] } }, { args: CR_API });

  test("a Role per namespace, no cluster-wide rights, one --namespace each", () => {
    expect(findAll(objects, "ClusterRole")).toEqual([]);
    expect(findAll(objects, "ClusterRoleBinding")).toEqual([]);
    const roles = findAll(objects, "Role").filter((r) => r.metadata.name === "mattermost-rtcd-operator");
    expect(roles.map((r) => (r.metadata as { namespace?: string }).namespace)).toEqual(["rtcd", "team-b"]);
    for (const r of roles) expect(r.rules).toEqual(config("rbac/cluster_role.yaml").rules);
    expect(find(objects, "Deployment").spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(["--namespace=rtcd", "--namespace=team-b"]),
    );
  });

  test("passes clusterDomain to the operator, for the endpoint it reports", () => {
    const objs = renderOp({ clusterDomain: "corp.internal" }, { args: CR_API });
    expect(
      find(objs, "Deployment", "mattermost-rtcd-operator").spec.template.spec.containers[0].args,
    ).toContain("--cluster-domain=corp.internal");
  });

  test("must include the release namespace, where the MattermostRTCD lives", () => {
    expect(errorOp({ operator: { watchNamespaces: ["other"] } }, { args: CR_API })).toMatch(
      /operator.watchNamespaces must include the release namespace "rtcd"/,
    );
    expect(errorOp({ operator: { watchNamespaces: ["other"], customResource: "never" } })).toBe("");
  });
});

// spec.autoscaling from the chart: the operator sizes the fleet, so the
// resource carries no replicas (the API server refuses both); the chart
// alone cannot autoscale, nor can a DaemonSet.
describe("autoscaling", () => {
  const values = {
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6, targetSessionsPerPod: 200 },
  };

  test("operator mode: spec.autoscaling, no spec.replicas, valid for the API", () => {
    const r = cr(values, {});
    const spec = r.spec as Record<string, unknown>;
    expect(spec["autoscaling"]).toEqual({
      enabled: true,
      minReplicas: 2,
      maxReplicas: 6,
      targetSessionsPerPod: 200,
      scaleDownStabilizationSeconds: 600,
      bufferPods: 1,
    });
    expect(spec["replicas"]).toBeUndefined();
    expect(validFor(r)).toEqual([]);
    // Off (the default): the fixed replicas as before, no autoscaling.
    const off = cr({}, {}).spec as Record<string, unknown>;
    expect(off["autoscaling"]).toBeUndefined();
    expect(off["replicas"]).toBe(2);
  });

  test("refused, with the reason, in direct mode and for a DaemonSet", () => {
    expect(renderError(values)).toMatch(/autoscaling.enabled needs operator.enabled/);
    expect(errorOp({ ...values, deploymentType: "daemonset" }, { args: CR_API })).toMatch(
      /autoscaling.enabled is for deploymentType: deployment/,
    );
  });
});
