import { describe, expect, expectTypeOf, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import {
  GROUP,
  KIND,
  PLURAL,
  VERSION,
  applyDefaults,
  crd,
  validateOffline,
  type MattermostRTCD,
  type MattermostRTCDSpec,
} from "../src/api/index.ts";
import type { Schema } from "../src/api/openapi.ts";
import { specSchema } from "../src/api/schema.ts";

// The release's version (root package.json): our rtcd's default tag.
const RELEASE = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

function cr(spec: MattermostRTCDSpec | undefined, name = "rtcd"): MattermostRTCD {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: { name, namespace: "calls" }, spec };
}

/** The spec-level schema node of the CRD, as the API server sees it. */
interface Node {
  properties?: Record<string, Node>;
  items?: Node;
  default?: unknown;
  enum?: unknown[];
  "x-kubernetes-validations"?: { rule: string; message: string; fieldPath?: string }[];
  [k: string]: unknown;
}
const version = (crd() as { spec: { versions: Record<string, unknown>[] } }).spec.versions[0]!;
const root = (version.schema as { openAPIV3Schema: Node }).openAPIV3Schema;
const spec = root.properties!.spec!;

function walk(n: Node, visit: (n: Node, path: string) => void, path = ""): void {
  visit(n, path);
  for (const [k, p] of Object.entries(n.properties ?? {})) walk(p, visit, `${path}.${k}`);
  if (n.items) walk(n.items, visit, `${path}[]`);
}

describe("CRD", () => {
  it("names the resource as documented", () => {
    const c = crd() as { metadata: { name: string }; spec: Record<string, unknown> };
    expect(c.metadata.name).toBe("mattermostrtcds.rtcd.mattermost.com");
    expect(c.spec.scope).toBe("Namespaced");
    expect(c.spec.names).toMatchObject({
      kind: KIND,
      plural: PLURAL,
      shortNames: ["mmrtcd"],
      categories: ["mattermost"],
    });
  });

  it("has the status and scale subresources and the printer columns", () => {
    expect(version.subresources).toEqual({
      status: {},
      scale: {
        specReplicasPath: ".spec.replicas",
        statusReplicasPath: ".status.replicas",
        labelSelectorPath: ".status.selector",
      },
    });
    const cols = (version.additionalPrinterColumns as { name: string; priority?: number }[])
      .filter((c) => !c.priority)
      .map((c) => c.name);
    expect(cols).toEqual(["Type", "Desired", "Ready", "Sessions", "Load%", "Headroom", "Endpoint", "Age"]);
  });

  it("is structural: every node has a type or is int-or-string, and carries a description", () => {
    const bad: string[] = [];
    walk(spec, (n, path) => {
      if (!n.type && !n["x-kubernetes-int-or-string"]) bad.push(`${path}: no type`);
      if (!n.description && path.split(".").length > 1 && !path.endsWith("[]")) {
        // Map values and list items may rely on their parent's description.
        bad.push(`${path}: no description`);
      }
    });
    expect(bad).toEqual([]);
  });

  it("carries no TypeScript-only annotations or functions", () => {
    const text = JSON.stringify(crd());
    expect(text).not.toMatch(/"tsName"|"tsType"|"check"/);
  });

  it("defaults to the official chart's values, with our rtcd at the release's version as the image", () => {
    const p = spec.properties!;
    expect(p.image!.properties!.repository!.default).toBe("mattermost-rtcd-mediasoup");
    expect(p.image!.properties!.tag!.default).toBe(RELEASE);
    expect(p.image!.properties!.pullPolicy!.default).toBe("IfNotPresent");
    expect(p.deploymentType!.default).toBe("Deployment");
    expect(p.terminationGracePeriodSeconds!.default).toBe(18000);
    expect(p.apiPort!.default).toBe(8045);
    expect(p.rtcPort!.default).toBe(8443);
    expect(p.networking!.properties!.mode!.default).toBe("HostNetwork");
    expect(p.networking!.properties!.externalTrafficPolicy!.default).toBe("Local");
    expect(p.updateStrategy!.properties!.maxUnavailable!.default).toBe(1);
    expect(p.rtcd!.properties!.security!.properties!.allowSelfRegistration!.default).toBe(false);
    // replicas is owned by scaling, not by defaulting.
    expect(p.replicas!.default).toBeUndefined();
  });

  it("bounds every string and list that a CEL rule reads (cost limits)", () => {
    const p = spec.properties!;
    expect(p.deploymentType!.maxLength).toBeDefined();
    expect(p.networking!.properties!.mode!.maxLength).toBeDefined();
    const ice = p.rtcd!.properties!.iceServers!;
    expect(ice.maxItems).toBeDefined();
    expect(ice.items!.properties!.urls!.maxItems).toBeDefined();
    expect(ice.items!.properties!.urls!.items!.maxLength).toBeDefined();
  });

  const rules = (n: Node) =>
    (n["x-kubernetes-validations"] ?? []).map((r) => `${r.fieldPath ?? ""} ${r.message}`);

  it("has the cross-field CEL rules with field paths", () => {
    expect(rules(spec)).toContain(".replicas not allowed when spec.deploymentType is DaemonSet");
    expect(rules(spec)).toContain(".rtcPort must differ from spec.apiPort");
    const net = rules(spec.properties!.networking!);
    expect(net).toContain(".nodePort only allowed when spec.networking.mode is NodePort");
    expect(net).toContain(".nodePort required when spec.networking.mode is NodePort (30000-32767)");
    expect(rules(spec.properties!.podDisruptionBudget!)).toContain(
      " set exactly one of minAvailable or maxUnavailable",
    );
    expect(spec.properties!.networking!.properties!.nodePort).toMatchObject({
      minimum: 30000,
      maximum: 32767,
    });
  });

  it("is the file committed under crds/ and in the chart", () => {
    for (const f of [
      "crds/rtcd.mattermost.com_mattermostrtcds.yaml",
      "charts/mattermost-rtcd/files/crds/rtcd.mattermost.com_mattermostrtcds.yaml",
    ]) {
      const onDisk = parse(readFileSync(new URL(`../../${f}`, import.meta.url), "utf8"));
      expect(onDisk).toEqual(JSON.parse(JSON.stringify(crd())));
    }
  });
});

describe("applyDefaults", () => {
  it("fills an empty resource with the schema's defaults", () => {
    const c = applyDefaults(cr(undefined));
    expect(c.spec).toMatchObject({
      paused: false,
      deploymentType: "Deployment",
      image: { repository: "mattermost-rtcd-mediasoup", tag: RELEASE, pullPolicy: "IfNotPresent" },
      terminationGracePeriodSeconds: 18000,
      apiPort: 8045,
      rtcPort: 8443,
      networking: { mode: "HostNetwork", externalTrafficPolicy: "Local" },
      podDisruptionBudget: { maxUnavailable: 1 },
      rtcd: {
        logging: { level: "INFO", format: "text" },
        security: { allowSelfRegistration: false },
        iceServers: [{ urls: ["stun:stun.global.calls.mattermost.com:3478"] }],
      },
      podSecurityContext: { runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532 },
      securityContext: { readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    });
    expect(c.spec!.replicas).toBeUndefined();
  });

  it("returns a type in which the defaulted fields are set (checked by tsc)", () => {
    const c = applyDefaults(cr(undefined));
    // Render code reads these without non-null assertions.
    expectTypeOf(c.spec.image.tag).toEqualTypeOf<string>();
    expectTypeOf(c.spec.rtcd.logging.level).toEqualTypeOf<"DEBUG" | "INFO" | "WARN" | "ERROR">();
    expectTypeOf(c.spec.networking.mode).toEqualTypeOf<
      "HostNetwork" | "HostPort" | "NodePort" | "LoadBalancer"
    >();
    expectTypeOf(c.spec.probes.readiness.periodSeconds).toEqualTypeOf<number>();
    // No default: scaling owns it.
    expectTypeOf(c.spec.replicas).toEqualTypeOf<number | undefined>();
    expect(c.spec.image.tag).toBe(RELEASE);
  });

  it("keeps what the user set, including an explicit empty list", () => {
    const c = applyDefaults(
      cr({
        rtcPort: 9000,
        rtcd: { iceServers: [] },
        image: { repository: "mattermost/rtcd", tag: "v1.2.5" },
      }),
    );
    expect(c.spec!.rtcPort).toBe(9000);
    expect(c.spec!.rtcd!.iceServers).toEqual([]);
    expect(c.spec!.image).toEqual({
      repository: "mattermost/rtcd",
      tag: "v1.2.5",
      pullPolicy: "IfNotPresent",
    });
  });

  it("is idempotent and never shares default objects between resources", () => {
    const a = applyDefaults(cr({}));
    const once = structuredClone(a);
    expect(applyDefaults(a)).toEqual(once);
    a.spec!.podSecurityContext!.runAsUser = 1;
    a.spec!.rtcd!.iceServers![0]!.urls.push("stun:x");
    const b = applyDefaults(cr({}));
    expect(b.spec!.podSecurityContext!.runAsUser).toBe(65532);
    expect(b.spec!.rtcd!.iceServers![0]!.urls).toHaveLength(1);
  });

  it("treats null like the API server: defaulted when there is a default, else dropped", () => {
    const c = applyDefaults(cr({ apiPort: null, replicas: null } as unknown as MattermostRTCDSpec));
    expect(c.spec!.apiPort).toBe(8045);
    expect("replicas" in c.spec!).toBe(false);
  });
});

describe("validateOffline", () => {
  const errors = (spec: MattermostRTCDSpec, name?: string) => validateOffline(applyDefaults(cr(spec, name)));

  it("accepts the defaults and the sample", () => {
    expect(errors({})).toEqual([]);
    const sample = parse(
      readFileSync(new URL("../config/samples/mattermostrtcd.yaml", import.meta.url), "utf8"),
    ) as MattermostRTCD;
    expect(validateOffline(applyDefaults(sample))).toEqual([]);
  });

  it("names the field of each CEL rule", () => {
    expect(errors({ deploymentType: "DaemonSet", replicas: 3 })).toEqual([
      "spec.replicas: not allowed when spec.deploymentType is DaemonSet",
    ]);
    expect(errors({ apiPort: 8443 })).toEqual(["spec.rtcPort: must differ from spec.apiPort"]);
    expect(errors({ networking: { mode: "HostPort", nodePort: 30001 } })).toEqual([
      "spec.networking.nodePort: only allowed when spec.networking.mode is NodePort",
    ]);
    expect(errors({ networking: { mode: "NodePort" } })).toEqual([
      "spec.networking.nodePort: required when spec.networking.mode is NodePort (30000-32767)",
    ]);
    expect(errors({ podDisruptionBudget: { minAvailable: 1, maxUnavailable: 1 } })).toEqual([
      "spec.podDisruptionBudget: set exactly one of minAvailable or maxUnavailable",
    ]);
    expect(errors({ podDisruptionBudget: { enabled: false, minAvailable: 1, maxUnavailable: 1 } })).toEqual(
      [],
    );
    expect(errors({ deploymentType: "DaemonSet", updateStrategy: { type: "Recreate" } })).toEqual([
      "spec.updateStrategy.type: Recreate is only valid for a Deployment",
    ]);
    expect(errors({ rtcd: { tls: { enabled: true } } })).toEqual([
      "spec.rtcd.tls.secretName: required when spec.rtcd.tls.enabled is true",
    ]);
  });

  it("ties spec.autoscaling to the workload, the replicas and the CPU limit", () => {
    const cpu = { resources: { limits: { cpu: "2" } } };
    expect(errors({ autoscaling: { maxReplicas: 5, targetSessionsPerPod: 100 } })).toEqual([]);
    expect(errors({ ...cpu, autoscaling: { maxReplicas: 5, targetCPUPercent: 70 } })).toEqual([]);
    expect(
      errors({ deploymentType: "DaemonSet", autoscaling: { maxReplicas: 5, targetSessionsPerPod: 100 } }),
    ).toEqual([
      "spec.autoscaling: not allowed when spec.deploymentType is DaemonSet (a DaemonSet runs one pod per node)",
    ]);
    expect(errors({ replicas: 3, autoscaling: { maxReplicas: 5, targetSessionsPerPod: 100 } })).toEqual([
      "spec.replicas: must be unset when spec.autoscaling.enabled is true: the operator owns the replica count",
    ]);
    // Switched off, the block stays and spec.replicas rules again.
    expect(
      errors({ replicas: 3, autoscaling: { enabled: false, maxReplicas: 5, targetSessionsPerPod: 100 } }),
    ).toEqual([]);
    expect(errors({ autoscaling: { maxReplicas: 5, targetCPUPercent: 70 } })).toEqual([
      "spec.autoscaling.targetCPUPercent: needs spec.resources.limits.cpu: rtcd's cpu_load is measured against the pod's CPU budget",
    ]);
    expect(errors({ autoscaling: { minReplicas: 6, maxReplicas: 5, targetSessionsPerPod: 1 } })).toEqual([
      "spec.autoscaling.minReplicas: must not exceed spec.autoscaling.maxReplicas",
    ]);
    expect(errors({ autoscaling: { maxReplicas: 5 } })).toEqual([
      "spec.autoscaling: set targetCPUPercent, targetSessionsPerPod or both",
    ]);
    expect(errors({ autoscaling: { targetSessionsPerPod: 1 } } as never)).toEqual([
      "spec.autoscaling.maxReplicas: required",
    ]);
  });

  it("checks nested rules and schema bounds", () => {
    expect(errors({ networking: { mode: "NodePort", nodePort: 8443 } })).toEqual([
      "spec.networking.nodePort: must be at least 30000",
    ]);
    expect(errors({ rtcd: { iceServers: [{ urls: ["stun:a", "turn:b"] }] } })).toEqual([
      "spec.rtcd.iceServers[0].urls: urls must be all stun:/stuns: or all turn:/turns: URLs",
    ]);
    expect(
      errors({ rtcd: { iceHostOverride: { mappings: [{ external: "1.2.3.4", internal: "node-a" }] } } }),
    ).toEqual(["spec.rtcd.iceHostOverride.mappings[0]: external and internal must be IP addresses"]);
    expect(errors({ rtcd: { iceHostOverride: {} } })).toEqual([
      "spec.rtcd.iceHostOverride: set exactly one of host or mappings",
    ]);
    expect(errors({ deploymentType: "StatefulSet" } as unknown as MattermostRTCDSpec)).toEqual([
      'spec.deploymentType: must be one of Deployment, DaemonSet (got "StatefulSet")',
    ]);
    expect(errors({ replicas: -1 })).toEqual(["spec.replicas: must be at least 0"]);
    expect(errors({ rtcd: { turn: { staticAuthSecretRef: { name: "t" } } } } as never)).toEqual([
      "spec.rtcd.turn.staticAuthSecretRef.key: required",
    ]);
    expect(errors({ replica: 2 } as unknown as MattermostRTCDSpec)).toEqual(["spec.replica: unknown field"]);
  });

  it("refuses what would make the pod privileged, and malformed quantities, naming the field", () => {
    expect(errors({ securityContext: { privileged: true, allowPrivilegeEscalation: true } })).toEqual([
      "spec.securityContext.privileged: must not be true (a privileged container is root on the node)",
      "spec.securityContext.allowPrivilegeEscalation: must not be true (setuid binaries could gain rights the container was not given)",
    ]);
    expect(errors({ podSecurityContext: { runAsUser: 0, runAsNonRoot: false } })).toEqual([
      "spec.podSecurityContext.runAsUser: must not be 0: rtcd never runs as root",
      "spec.podSecurityContext.runAsNonRoot: must not be false: rtcd never runs as root",
    ]);
    expect(errors({ securityContext: { capabilities: { add: ["SYS_ADMIN"] } } })).toEqual([
      "spec.securityContext.capabilities.add: may only add NET_BIND_SERVICE: rtcd needs no other capability",
    ]);
    expect(errors({ securityContext: { capabilities: { add: ["NET_BIND_SERVICE"] } } })).toEqual([]);
    expect(errors({ resources: { limits: { cpu: "two" }, requests: { cpu: -1, memory: "1Gi" } } })).toEqual([
      expect.stringMatching(/^spec\.resources\.limits\.cpu: must match /),
      "spec.resources.requests.cpu: must be at least 0",
    ]);
  });

  it("checks the name, which also names Services", () => {
    expect(errors({}, "Bad_Name")[0]).toMatch(/^metadata\.name: must be at most 59/);
    expect(errors({}, "a".repeat(60))[0]).toMatch(/^metadata\.name:/);
    expect(errors({}, "a".repeat(59))).toEqual([]);
  });

  it("guards every optional field a CEL rule reads with has(), as the API server checks defaults unexpanded", () => {
    const unguarded: string[] = [];
    const visit = (n: Schema, where: string) => {
      for (const r of n["x-kubernetes-validations"] ?? []) {
        for (const m of r.rule.matchAll(/self((?:\.[A-Za-z]+)+)(\()?/g)) {
          const segments = m[1]!.slice(1).split(".");
          if (m[2]) segments.pop(); // a method call such as .all( or .startsWith(
          let node: Schema | undefined = n;
          segments.forEach((seg, i) => {
            const path = `self.${segments.slice(0, i + 1).join(".")}`;
            const required = node?.required?.includes(seg) ?? false;
            if (!required && !r.rule.includes(`has(${path})`))
              unguarded.push(`${where}: ${path} in ${r.rule}`);
            node = node?.properties?.[seg];
          });
        }
      }
      for (const [k, p] of Object.entries(n.properties ?? {})) visit(p, `${where}.${k}`);
      if (n.items) visit(n.items, `${where}[]`);
    };
    visit(specSchema, "spec");
    expect(unguarded).toEqual([]);
  });

  it("has an offline twin for every CEL rule the CRD carries", () => {
    const source: string[] = [];
    const visit = (n: Schema) => {
      for (const r of n["x-kubernetes-validations"] ?? []) {
        expect(typeof r.check).toBe("function");
        source.push(r.rule);
      }
      for (const p of Object.values(n.properties ?? {})) visit(p);
      if (n.items) visit(n.items);
    };
    visit(specSchema);
    const inCrd: string[] = [];
    walk(spec, (n) => inCrd.push(...(n["x-kubernetes-validations"] ?? []).map((r) => r.rule)));
    expect(inCrd.sort()).toEqual(source.sort());
    expect(source.length).toBeGreaterThanOrEqual(11);
  });
});
