import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { MattermostRTCDSpec } from "../src/api/index.ts";
import {
  RENDER_HASH_ANNOTATION,
  adminSecretName,
  generatedAdminSecretRequired,
  instanceSelector,
  ownedTypes,
  referencedSecrets,
  render,
} from "../src/render/index.ts";
import { config, container, cr, deployment, out, pod } from "./render-fixtures.ts";

describe("render: objects and naming", () => {
  it("renders the default set, labelled, namespaced and without owner references", () => {
    const { objects, warnings } = out();
    expect(objects.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual([
      "ServiceAccount/rtcd",
      "ConfigMap/rtcd-config",
      "Service/rtcd",
      "Deployment/rtcd",
      "PodDisruptionBudget/rtcd",
    ]);
    expect(warnings).toEqual([]);
    for (const o of objects) {
      expect(o.metadata!.namespace).toBe("calls");
      expect(o.metadata!.ownerReferences).toBeUndefined();
      expect(o.metadata!.labels).toEqual({
        "app.kubernetes.io/name": "mattermost-rtcd",
        "app.kubernetes.io/instance": "rtcd",
        "app.kubernetes.io/managed-by": "mattermost-rtcd-operator",
        "app.kubernetes.io/component": "rtcd",
      });
      // Every rendered kind is one the controller watches and may prune.
      expect(
        ownedTypes.some(
          (t) => t.kind === o.kind && (t.group ? `${t.group}/${t.version}` : t.version) === o.apiVersion,
        ),
      ).toBe(true);
    }
  });

  it("is deterministic and leaves its input untouched", () => {
    const input = cr({ podAnnotations: { b: "2", a: "1" } });
    const before = structuredClone(input);
    const a = render(input, { serviceMonitorAvailable: true });
    const b = render(structuredClone(input), { serviceMonitorAvailable: true });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(input).toEqual(before);
  });

  it("selects this instance only", () => {
    expect(instanceSelector("x")).toBe("app.kubernetes.io/name=mattermost-rtcd,app.kubernetes.io/instance=x");
    expect(deployment().spec!.selector.matchLabels).toEqual({
      "app.kubernetes.io/name": "mattermost-rtcd",
      "app.kubernetes.io/instance": "rtcd",
    });
  });

  it("lists the owned types, with ServiceMonitor optional", () => {
    expect(ownedTypes.map((t) => t.kind).sort()).toEqual([
      "ConfigMap",
      "DaemonSet",
      "Deployment",
      "PodDisruptionBudget",
      "Secret",
      "Service",
      "ServiceAccount",
      "ServiceMonitor",
    ]);
    expect(ownedTypes.filter((t) => t.optional).map((t) => t.kind)).toEqual(["ServiceMonitor"]);
    expect(ownedTypes.find((t) => t.kind === "PodDisruptionBudget")).toMatchObject({
      group: "policy",
      version: "v1",
    });
  });

  it("changes an object's render hash when a field is only removed", () => {
    const hash = (spec: MattermostRTCDSpec) =>
      deployment(spec).metadata!.annotations![RENDER_HASH_ANNOTATION];
    expect(hash({ nodeSelector: { pool: "rtc" } })).not.toBe(hash({}));
    expect(hash({})).toBe(hash({}));
  });
});

// The release's version (root package.json): the operator and our rtcd are released together.
const RELEASE = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

describe("render: the seed's defaults", () => {
  it("runs 2 replicas of our rtcd, at the release's version, with the 5-hour grace period", () => {
    const d = deployment();
    expect(d.spec!.replicas).toBe(2);
    expect(d.spec!.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });
    expect(d.spec!.template.spec!.terminationGracePeriodSeconds).toBe(18000);
    expect(container().image).toBe(`mattermost-rtcd-mediasoup:${RELEASE}`);
    expect(container().imagePullPolicy).toBe("IfNotPresent");
    expect(deployment({ replicas: 5 }).spec!.replicas).toBe(5);
  });

  it("starts an autoscaled Deployment at minReplicas, and takes the autoscaler's count when given", () => {
    const spec: MattermostRTCDSpec = {
      autoscaling: { minReplicas: 3, maxReplicas: 9, targetSessionsPerPod: 50 },
    };
    expect(deployment(spec).spec!.replicas).toBe(3);
    const given = render(cr(spec), { serviceMonitorAvailable: false, replicas: 7 }).objects;
    expect(given.find((o) => o.kind === "Deployment")).toMatchObject({ spec: { replicas: 7 } });
    // Switched off: spec.replicas (here its default) rules again.
    const off = { autoscaling: { enabled: false, minReplicas: 3, maxReplicas: 9, targetSessionsPerPod: 50 } };
    expect(deployment(off).spec!.replicas).toBe(2);
  });

  it("uses host networking with the chart's ports", () => {
    const p = pod();
    expect(p.hostNetwork).toBe(true);
    expect(p.dnsPolicy).toBe("ClusterFirstWithHostNet");
    expect(p.containers[0]!.ports).toEqual([
      { name: "api", containerPort: 8045, hostPort: 8045, protocol: "TCP" },
      { name: "rtc-udp", containerPort: 8443, hostPort: 8443, protocol: "UDP" },
      { name: "rtc-tcp", containerPort: 8443, hostPort: 8443, protocol: "TCP" },
    ]);
  });

  it("spreads over zones like the chart, scoped to this instance", () => {
    const term = {
      labelSelector: {
        matchLabels: { "app.kubernetes.io/name": "mattermost-rtcd", "app.kubernetes.io/instance": "rtcd" },
      },
      topologyKey: "topology.kubernetes.io/zone",
    };
    expect(pod().affinity).toEqual({
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [term],
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }],
      },
    });
    expect(pod({ affinity: {} }).affinity).toBeUndefined();
    const mine = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
    };
    expect(pod({ affinity: mine }).affinity).toEqual(mine);
    expect(pod({ deploymentType: "DaemonSet" }).affinity).toBeUndefined();
  });

  it("runs hardened: non-root, read-only root, no capabilities, no token, a writable /tmp", () => {
    const p = pod();
    expect(p.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(p.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(p.automountServiceAccountToken).toBe(false);
    expect(p.enableServiceLinks).toBe(false);
    expect(p.serviceAccountName).toBe("rtcd");
    expect(p.volumes).toContainEqual({ name: "tmp", emptyDir: {} });
    expect(p.containers[0]!.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
    expect(config().RTCD_STORE_DATASOURCE).toBe("/tmp/rtcd_db");
    expect(config().RTCD_LOGGER_ENABLEFILE).toBe("false");
  });

  it("adds NET_BIND_SERVICE only for a port below 1024 on the host network", () => {
    expect(container({ rtcPort: 443 }).securityContext!.capabilities).toEqual({
      drop: ["ALL"],
      add: ["NET_BIND_SERVICE"],
    });
    const np = { rtcPort: 443, networking: { mode: "NodePort" as const, nodePort: 30443 } };
    expect(container(np).securityContext!.capabilities).toEqual({ drop: ["ALL"] });
  });

  it("keeps self-registration off and enables the admin API with the generated key", () => {
    expect(config().RTCD_API_SECURITY_ALLOWSELFREGISTRATION).toBe("false");
    expect(config().RTCD_API_SECURITY_ENABLEADMIN).toBe("true");
    expect(container().env).toEqual([
      {
        name: "RTCD_API_SECURITY_ADMINSECRETKEY",
        valueFrom: { secretKeyRef: { name: "rtcd-admin", key: "ADMIN_SECRET_KEY" } },
      },
    ]);
  });
});

describe("render: probes and draining", () => {
  it("probes /version on Mattermost's image and /readyz, /healthz on this project's", () => {
    // The default image is ours.
    expect(container().readinessProbe!.httpGet!.path).toBe("/readyz");
    expect(container().livenessProbe!.httpGet!.path).toBe("/healthz");
    const mattermost = container({ image: { repository: "mattermost/rtcd", tag: "v1.2.6" } });
    expect(mattermost.readinessProbe!.httpGet!.path).toBe("/version");
    expect(mattermost.livenessProbe!.httpGet!.path).toBe("/version");
    const ours = container({
      image: { repository: "registry.example.com/acme/mattermost-rtcd-mediasoup", tag: "0.1.0" },
    });
    expect(ours.readinessProbe!.httpGet!.path).toBe("/readyz");
    expect(ours.livenessProbe!.httpGet!.path).toBe("/healthz");
    expect(ours.readinessProbe).toMatchObject({ periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
    // Not fooled by a look-alike.
    const other = container({ image: { repository: "acme/not-mattermost-rtcd-mediasoup" } });
    expect(other.readinessProbe!.httpGet!.path).toBe("/version");
  });

  it("lets the user override the probe style, paths and scheme follows TLS", () => {
    expect(container({ probes: { endpoints: "Health" } }).readinessProbe!.httpGet!.path).toBe("/readyz");
    const c = container({
      probes: { readiness: { path: "/system" } },
      rtcd: { tls: { enabled: true, secretName: "t" } },
    });
    expect(c.readinessProbe!.httpGet).toEqual({ path: "/system", port: "api", scheme: "HTTPS" });
    expect(c.livenessProbe!.httpGet!.path).toBe("/healthz");
  });

  it("tells rtcd to finish draining 10 s before the kubelet kills it", () => {
    expect(config().RTCD_DRAIN_DEADLINESECONDS).toBe("17990");
    expect(config({ terminationGracePeriodSeconds: 600 }).RTCD_DRAIN_DEADLINESECONDS).toBe("590");
    expect(config({ terminationGracePeriodSeconds: 5 }).RTCD_DRAIN_DEADLINESECONDS).toBe("0");
    expect(deployment({ terminationGracePeriodSeconds: 600 }).spec!.progressDeadlineSeconds).toBe(1200);
  });
});

describe("render: configuration", () => {
  it("renders typed settings as rtcd's variables", () => {
    const c = config({
      rtcd: {
        logging: { level: "DEBUG", format: "json" },
        iceServers: [{ urls: ["stun:stun.example.com:3478"] }],
        iceHostOverride: {
          mappings: [
            { external: "203.0.113.1", internal: "10.0.0.1" },
            { external: "203.0.113.2", internal: "10.0.0.2" },
          ],
        },
      },
    });
    expect(c).toMatchObject({
      RTCD_LOGGER_CONSOLELEVEL: "DEBUG",
      RTCD_LOGGER_CONSOLEJSON: "true",
      RTCD_RTC_ICESERVERS: '[{"urls":["stun:stun.example.com:3478"]}]',
      RTCD_RTC_ICEHOSTOVERRIDE: "203.0.113.1/10.0.0.1,203.0.113.2/10.0.0.2",
      RTCD_RTC_ICEPORTUDP: "8443",
      RTCD_RTC_ICEPORTTCP: "8443",
      RTCD_API_HTTP_LISTENADDRESS: ":8045",
    });
    expect(config({ rtcd: { iceHostOverride: { host: "rtc.example.com" } } }).RTCD_RTC_ICEHOSTOVERRIDE).toBe(
      "rtc.example.com",
    );
    expect(config({ rtcd: { iceServers: [] } }).RTCD_RTC_ICESERVERS).toBeUndefined();
    expect(Object.keys(c)).toEqual([...Object.keys(c)].sort());
  });

  it("rolls the pods when the configuration changes, through a checksum annotation", () => {
    const sum = (spec: MattermostRTCDSpec) =>
      deployment(spec).spec!.template.metadata!.annotations!["rtcd.mattermost.com/config-checksum"];
    expect(sum({})).toMatch(/^[0-9a-f]{64}$/);
    expect(sum({ rtcd: { logging: { level: "DEBUG" } } })).not.toBe(sum({}));
    expect(sum({ podAnnotations: { a: "b" } })).toBe(sum({}));
    expect(deployment({ podAnnotations: { a: "b" } }).spec!.template.metadata!.annotations!.a).toBe("b");
  });

  it("never inlines secrets: they reach the pod through secretKeyRef", () => {
    const spec: MattermostRTCDSpec = {
      rtcd: {
        turn: { staticAuthSecretRef: { name: "turn", key: "secret" } },
        security: { adminSecretRef: { name: "admin", key: "key" } },
      },
    };
    const env = container(spec).env!;
    expect(env).toEqual([
      {
        name: "RTCD_API_SECURITY_ADMINSECRETKEY",
        valueFrom: { secretKeyRef: { name: "admin", key: "key" } },
      },
      {
        name: "RTCD_RTC_TURNCONFIG_STATICAUTHSECRET",
        valueFrom: { secretKeyRef: { name: "turn", key: "secret" } },
      },
    ]);
    const data = config(spec);
    expect(Object.keys(data).filter((k) => /SECRET/.test(k))).toEqual([]);
    expect(data.RTCD_RTC_TURNCONFIG_CREDENTIALSEXPIRATIONMINUTES).toBe("1440");
    expect(out(spec).objects.some((o) => o.kind === "Secret")).toBe(false);
  });

  it("appends the user's env last, replacing (and reporting) a variable the operator sets", () => {
    const spec: MattermostRTCDSpec = {
      env: [
        { name: "EXTRA", value: "1" },
        { name: "RTCD_API_SECURITY_ADMINSECRETKEY", valueFrom: { secretKeyRef: { name: "mine", key: "k" } } },
        { name: "RTCD_LOGGER_CONSOLELEVEL", value: "ERROR" },
      ],
    };
    const env = container(spec).env!;
    expect(env.map((e) => e.name)).toEqual([
      "EXTRA",
      "RTCD_API_SECURITY_ADMINSECRETKEY",
      "RTCD_LOGGER_CONSOLELEVEL",
    ]);
    expect(env[1]!.valueFrom!.secretKeyRef!.name).toBe("mine");
    expect(out(spec).warnings).toEqual([
      "spec.env: RTCD_API_SECURITY_ADMINSECRETKEY overrides the value the operator sets from the spec",
      "spec.env: RTCD_LOGGER_CONSOLELEVEL overrides the value the operator sets from the spec",
    ]);
  });

  it("mounts the TLS Secret and advertises https when TLS is on", () => {
    const spec: MattermostRTCDSpec = { rtcd: { tls: { enabled: true, secretName: "rtcd-tls" } } };
    expect(pod(spec).volumes).toContainEqual({ name: "tls", secret: { secretName: "rtcd-tls" } });
    expect(config(spec)).toMatchObject({
      RTCD_API_HTTP_TLS_ENABLE: "true",
      RTCD_API_HTTP_TLS_CERTFILE: "/etc/rtcd/tls/tls.crt",
      RTCD_API_HTTP_TLS_CERTKEY: "/etc/rtcd/tls/tls.key",
    });
  });
});

describe("render: secrets the spec references", () => {
  it("generates the admin Secret only when none is given", () => {
    expect(generatedAdminSecretRequired(cr())).toBe(true);
    expect(adminSecretName(cr())).toBe("rtcd-admin");
    expect(referencedSecrets(cr())).toEqual([]);
    const given = cr({ rtcd: { security: { adminSecretRef: { name: "a", key: "k" } } } });
    expect(generatedAdminSecretRequired(given)).toBe(false);
    expect(adminSecretName(given)).toBe("a");
  });

  it("lists every referenced Secret with the field that names it", () => {
    const c = cr({
      rtcd: {
        security: { adminSecretRef: { name: "a", key: "k" } },
        turn: { staticAuthSecretRef: { name: "t", key: "s" } },
        tls: { enabled: true, secretName: "tls" },
      },
    });
    expect(referencedSecrets(c)).toEqual([
      { name: "a", key: "k", field: "spec.rtcd.security.adminSecretRef" },
      { name: "t", key: "s", field: "spec.rtcd.turn.staticAuthSecretRef" },
      { name: "tls", key: "tls.crt", field: "spec.rtcd.tls.secretName" },
      { name: "tls", key: "tls.key", field: "spec.rtcd.tls.secretName" },
    ]);
  });
});
