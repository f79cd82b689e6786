// values.schema.json: the official chart's values pass, typos and wrong types
// are refused by helm with the key named, and every key is described.
import { execFileSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { helmBin } from "../../src/chart/helm-bin.ts";
import { chartDir, seedValuesFile } from "../../src/chart/paths.ts";
import { chartWithCrd, renderError } from "../../src/chart/render.ts";
import {
  loadSchema,
  loadValues,
  valueRows,
  valuesMissingFromSchema,
} from "@mattermost-rtcd/operator/chart/values-table";

const lint = (...args: string[]) =>
  execFileSync(helmBin(), ["lint", "--strict", chartDir, ...args], { encoding: "utf8", stdio: "pipe" });
const lintChart = (chart: string, ...args: string[]) =>
  execFileSync(helmBin(), ["lint", "--strict", chart, ...args], { encoding: "utf8", stdio: "pipe" });

describe("helm lint --strict", () => {
  test("passes with the defaults", () => {
    expect(lint()).toContain("0 chart(s) failed");
  });
  test("passes with the seed's sample values", () => {
    expect(lint("-f", seedValuesFile)).toContain("0 chart(s) failed");
  });
  test("passes in operator mode, with the MattermostRTCD rendered", () => {
    expect(
      lintChart(
        chartWithCrd(),
        "-f",
        seedValuesFile,
        "--set",
        "operator.enabled=true",
        "--set",
        "operator.customResource=always",
      ),
    ).toContain("0 chart(s) failed");
  });
});

describe("values the official chart 1.4.1 accepts", () => {
  test.for<[string, Record<string, unknown>]>([
    ["the seed's sample values", {}],
    ["tolerations: {} (the official default)", { tolerations: {} }],
    ["ingress.annotations left empty (null)", { ingress: { annotations: null } }],
    [
      "ingress.ingressclassname with tls",
      { ingress: { ingressclassname: "nginx", tls: [{ hosts: ["a"], secretName: "s" }] } },
    ],
    ["networking keys", { networking: { hostNetwork: false, useHostPort: false } }],
    [
      "service keys",
      {
        service: {
          type: "LoadBalancer",
          clusterIP: "",
          externalTrafficPolicy: "Cluster",
          annotations: { a: "b" },
        },
      },
    ],
    [
      "extra volumes",
      {
        configuration: {
          extraVolumes: [{ name: "v", emptyDir: {} }],
          extraVolumeMounts: [{ name: "v", mountPath: "/v" }],
        },
      },
    ],
    [
      "probe timings",
      { configuration: { livenessProbeInitialDelaySeconds: 0, readinessProbeTimeoutSeconds: 2 } },
    ],
    ["a daemonset", { deploymentType: "daemonset" }],
    [
      "env values as numbers, booleans, null",
      { configuration: { environmentVariables: { A: 1, B: true, C: null } } },
    ],
    ["a numeric image tag", { image: { tag: 1.2 } }],
  ])("%s", ([, values]) => {
    expect(renderError(values, { files: [seedValuesFile] })).toBe("");
  });
});

describe("refused values name the key", () => {
  test.for<[string, Record<string, unknown>, RegExp]>([
    ["a typo at the top", { tolerationz: [] }, /additional properties 'tolerationz' not allowed/],
    [
      "a typo in configuration",
      { configuration: { replica: 3 } },
      /at '\/configuration'.*additional properties 'replica' not allowed/s,
    ],
    ["a typo in service", { service: { ApiPort: 8045 } }, /at '\/service'.*'ApiPort' not allowed/s],
    [
      "a typo in ingress hosts",
      { ingress: { hosts: [{ hostname: "x" }] } },
      /at '\/ingress\/hosts\/0'.*'hostname' not allowed/s,
    ],
    [
      "a typo in securityContext",
      { securityContext: { readOnlyRootFileSystem: true } },
      /at '\/securityContext'.*'readOnlyRootFileSystem' not allowed/s,
    ],
    ["a typo in resources", { resources: { limit: { cpu: 1 } } }, /at '\/resources'.*'limit' not allowed/s],
    [
      "a typo in a toleration",
      { tolerations: [{ efect: "NoSchedule" }] },
      /at '\/tolerations\/0'.*'efect' not allowed/s,
    ],
    ["a typo in operator", { operator: { enable: true } }, /at '\/operator'.*'enable' not allowed/s],
    [
      "replicas as a string",
      { configuration: { replicas: "2" } },
      /at '\/configuration\/replicas'.*got string, want integer/s,
    ],
    ["a port out of range", { service: { RTCport: 70000 } }, /at '\/service\/RTCport'/],
    ["an unknown deploymentType", { deploymentType: "statefulset" }, /at '\/deploymentType'/],
    ["an unknown service type", { service: { type: "ExternalName" } }, /at '\/service\/type'/],
    [
      "hostNetwork as a string",
      { networking: { hostNetwork: "true" } },
      /at '\/networking\/hostNetwork'.*got string, want boolean/s,
    ],
    [
      "an env value as a list",
      { configuration: { environmentVariables: { A: [1] } } },
      /at '\/configuration\/environmentVariables\/A'/,
    ],
    [
      "an invalid env name",
      { configuration: { environmentVariables: { "A B": "x" } } },
      /invalid propertyName 'A B'/,
    ],
    ["a non-empty tolerations map", { tolerations: { key: "x" } }, /at '\/tolerations'/],
    ["a cluster domain with a scheme", { clusterDomain: "https://corp" }, /at '\/clusterDomain'/],
    [
      "maxUnavailable as a word",
      { configuration: { maxUnavailable: "one" } },
      /at '\/configuration\/maxUnavailable'/,
    ],
  ])("%s", ([, values, message]) => {
    const err = renderError(values, { files: [seedValuesFile] });
    expect(err).toContain("values don't meet the specifications of the schema");
    expect(err).toMatch(message);
  });
});

describe("the schema covers values.yaml", () => {
  const schema = loadSchema();
  const values = loadValues();

  test("every key in values.yaml is in the schema", () => {
    expect(valuesMissingFromSchema(schema, values)).toEqual([]);
  });

  test("every value row is typed and described", () => {
    const rows = valueRows(schema, values);
    expect(rows.length).toBeGreaterThan(60);
    expect(rows.filter((r) => r.description.trim() === "").map((r) => r.key)).toEqual([]);
    expect(rows.filter((r) => r.type === "any").map((r) => r.key)).toEqual([]);
  });

  test("every key of the official chart 1.4.1 is in the schema", () => {
    const official = [
      "image.repository",
      "image.pullPolicy",
      "image.tag",
      "imagePullSecrets",
      "nameOverride",
      "fullnameOverride",
      "serviceAccount.create",
      "serviceAccount.annotations",
      "serviceAccount.name",
      "podAnnotations",
      "podSecurityContext",
      "securityContext",
      "deploymentType",
      "networking.hostNetwork",
      "networking.useHostPort",
      "configuration.replicas",
      "configuration.environmentVariables",
      "configuration.maxUnavailable",
      "configuration.updateStrategy",
      "configuration.terminationGracePeriod",
      "configuration.extraVolumes",
      "configuration.extraVolumeMounts",
      "configuration.livenessProbeInitialDelaySeconds",
      "configuration.livenessProbeFailureThreshold",
      "configuration.livenessProbePeriodSeconds",
      "configuration.livenessProbeTimeoutSeconds",
      "configuration.readinessProbeInitialDelaySeconds",
      "configuration.readinessProbeFailureThreshold",
      "configuration.readinessProbePeriodSeconds",
      "configuration.readinessProbeTimeoutSeconds",
      "service.type",
      "service.clusterIP",
      "service.externalTrafficPolicy",
      "service.annotations",
      "service.APIport",
      "service.RTCport",
      "ingress.enabled",
      "ingress.ingressclassname",
      "ingress.annotations",
      "ingress.hosts",
      "ingress.tls",
      "resources",
      "nodeSelector",
      "tolerations",
      "dnsConfig",
      "affinity",
    ];
    const keys = new Set(valueRows(schema, values).map((r) => r.key));
    const groups = new Set(["resources", "dnsConfig", "affinity"]);
    expect(official.filter((k) => !keys.has(k) && !groups.has(k))).toEqual([]);
  });
});
