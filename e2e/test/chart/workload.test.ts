// Direct mode's workload: the seed's sample values render what the official
// chart 1.4.1 rendered for them (names, labels, replicas, grace, scheduling,
// env, ports), with its faults fixed and secure defaults added.
// Over ~400 lines on purpose: one table of the official chart's behaviour
// for the same values, read top to bottom; split, the parity is harder to see.
import { describe, expect, test } from "vitest";
import { releaseVersion as VERSION, seedValuesFile } from "../../src/chart/paths.ts";
import { container, envOf, find, findAll, render, renderError, type Values } from "../../src/chart/render.ts";

const seed = { files: [seedValuesFile] };
const seedAffinity = (key = "topology.kubernetes.io/zone") => ({
  labelSelector: {
    matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["mattermost-rtcd"] }],
  },
  topologyKey: key,
});

describe("the seed's sample values (deploymentType deployment)", () => {
  const objects = render({}, seed);
  const deploy = find(objects, "Deployment", "mattermost-rtcd");
  const pod = deploy.spec.template.spec;
  const c = container(deploy);

  test("renders the official chart's objects plus a PDB and the test hook", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "Deployment/mattermost-rtcd",
      "Pod/mattermost-rtcd-test-version",
      "PodDisruptionBudget/mattermost-rtcd",
      "Service/mattermost-rtcd",
      "ServiceAccount/mattermost-rtcd",
    ]);
  });

  test("names and selector match the official chart (helm upgrade keeps the Deployment)", () => {
    expect(deploy.spec.selector.matchLabels).toEqual({
      "app.kubernetes.io/name": "mattermost-rtcd",
      "app.kubernetes.io/instance": "mattermost-rtcd",
    });
    expect(deploy.spec.template.metadata.labels["app.kubernetes.io/name"]).toBe("mattermost-rtcd");
    expect(c.name).toBe("mattermost-rtcd");
    expect(pod.serviceAccountName).toBe("mattermost-rtcd");
  });

  test("replicas, rolling update and the 5-hour grace", () => {
    expect(deploy.spec.replicas).toBe(2);
    expect(deploy.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });
    expect(pod.terminationGracePeriodSeconds).toBe(18000);
  });

  test("scheduling exactly as written: node selector, tolerations, zone anti-affinity, dnsConfig", () => {
    expect(pod.nodeSelector).toEqual({ "kops.k8s.io/instancegroup": "rtcd" });
    expect(pod.tolerations).toEqual([
      { key: "rtcd", operator: "Equal", value: "true", effect: "NoSchedule" },
    ]);
    expect(pod.affinity).toEqual({
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [seedAffinity()],
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: seedAffinity() }],
      },
    });
    expect(pod.dnsConfig).toEqual({ options: [{ name: "ndots", value: "1" }] });
  });

  test("env values quoted for the official chart arrive unquoted", () => {
    expect(c.env).toEqual([
      { name: "RTCD_API_SECURITY_ALLOWSELFREGISTRATION", value: "true" },
      { name: "RTCD_LOGGER_CONSOLELEVEL", value: "DEBUG" },
      { name: "RTCD_LOGGER_ENABLEFILE", value: "false" },
      { name: "RTCD_RTC_ICESERVERS", value: '[{"urls":["stun:stun.global.calls.mattermost.com:3478"]}]' },
      // Read by our rtcd only; Mattermost's ignores it.
      { name: "RTCD_DRAIN_DEADLINESECONDS", value: "17990" },
    ]);
  });

  test("host network with hostPorts, ports named api, rtc-udp, rtc-tcp", () => {
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe("ClusterFirstWithHostNet");
    expect(c.ports).toEqual([
      { name: "api", containerPort: 8045, hostPort: 8045, protocol: "TCP" },
      { name: "rtc-udp", containerPort: 8443, hostPort: 8443, protocol: "UDP" },
      { name: "rtc-tcp", containerPort: 8443, hostPort: 8443, protocol: "TCP" },
    ]);
  });

  test("image, resources", () => {
    expect(c.image).toBe("mattermost/rtcd:v0.9.0");
    expect(c.imagePullPolicy).toBe("IfNotPresent");
    expect(c.resources).toEqual({
      limits: { cpu: "7800m", memory: "15Gi" },
      requests: { cpu: "100m", memory: "32Mi" },
    });
  });

  test("`{}` security contexts keep the secure defaults; /tmp is a writable emptyDir", () => {
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(pod.volumes).toEqual([{ name: "tmp", emptyDir: {} }]);
  });

  test("probes on /version for Mattermost's image, with the official timings", () => {
    const probe = {
      httpGet: { path: "/version", port: "api", scheme: "HTTP" },
      initialDelaySeconds: 30,
      failureThreshold: 3,
      periodSeconds: 10,
      timeoutSeconds: 5,
    };
    expect(c.livenessProbe).toEqual(probe);
    expect(c.readinessProbe).toEqual(probe);
  });

  test("a headless Service with the api, rtc-udp and rtc-tcp ports", () => {
    const svc = find(objects, "Service", "mattermost-rtcd");
    expect(svc.spec.type).toBe("ClusterIP");
    expect(svc.spec.clusterIP).toBe("None");
    expect(svc.spec.selector).toEqual(deploy.spec.selector.matchLabels);
    expect(svc.spec.ports).toEqual([
      { name: "api", port: 8045, targetPort: "api", protocol: "TCP" },
      { name: "rtc-udp", port: 8443, targetPort: "rtc-udp", protocol: "UDP" },
      { name: "rtc-tcp", port: 8443, targetPort: "rtc-tcp", protocol: "TCP" },
    ]);
  });
});

describe("the seed's sample values with deploymentType daemonset", () => {
  const objects = render({ deploymentType: "daemonset" }, seed);
  const ds = find(objects, "DaemonSet", "mattermost-rtcd");

  test("a DaemonSet instead of the Deployment, with the same pod", () => {
    expect(findAll(objects, "Deployment")).toEqual([]);
    const deployPod = find(render({}, seed), "Deployment").spec.template;
    expect(ds.spec.template).toEqual(deployPod);
    expect(ds.spec.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });
    expect(ds.spec.replicas).toBeUndefined();
  });

  test("OnDelete works, Recreate is refused with the key named", () => {
    expect(
      find(
        render({ deploymentType: "daemonset", configuration: { updateStrategy: "OnDelete" } }),
        "DaemonSet",
      ).spec.updateStrategy,
    ).toEqual({ type: "OnDelete" });
    expect(
      renderError({ deploymentType: "daemonset", configuration: { updateStrategy: "Recreate" } }),
    ).toMatch(/configuration.updateStrategy: Recreate is for Deployments/);
    expect(renderError({ configuration: { updateStrategy: "OnDelete" } })).toMatch(
      /configuration.updateStrategy: OnDelete/,
    );
  });
});

describe("environment values", () => {
  const env = (environmentVariables: Values, extra: Values = {}) =>
    envOf(find(render({ configuration: { environmentVariables, ...extra } }), "Deployment"));

  test.for<[string, unknown, string]>([
    ["official double-quoted", '"true"', "true"],
    ["official single-quoted JSON", `'[{"urls":["stun:a:3478"]}]'`, '[{"urls":["stun:a:3478"]}]'],
    ["official quoted with an escape", '"a\\"b"', 'a"b'],
    ["plain string", "DEBUG", "DEBUG"],
    ["plain JSON", '[{"urls":["stun:a:3478"]}]', '[{"urls":["stun:a:3478"]}]'],
    ["plain 'true'", "true", "true"],
    ["YAML boolean", true, "true"],
    ["YAML integer", 8443, "8443"],
    ["large integer", 1000000, "1000000"],
    ["float", 1.5, "1.5"],
    ["null", null, ""],
    ["a lone quote", '"', '"'],
    ["colon and hash", "a: b # c", "a: b # c"],
  ])("%s", ([, input, expected]) => {
    expect(env({ RTCD_X: input }).RTCD_X).toBe(expected);
  });

  test("extraEnv (secrets) and envFrom", () => {
    const deploy = find(
      render({
        configuration: {
          environmentVariables: { RTCD_API_SECURITY_ENABLEADMIN: "true" },
          extraEnv: [
            {
              name: "RTCD_API_SECURITY_ADMINSECRETKEY",
              valueFrom: { secretKeyRef: { name: "rtcd", key: "admin" } },
            },
          ],
          envFrom: [{ secretRef: { name: "rtcd-env" } }],
        },
      }),
      "Deployment",
    );
    expect(container(deploy).env).toEqual([
      { name: "RTCD_API_SECURITY_ENABLEADMIN", value: "true" },
      { name: "RTCD_DRAIN_DEADLINESECONDS", value: "17990" },
      { name: "RTCD_LOGGER_ENABLEFILE", value: "false" },
      {
        name: "RTCD_API_SECURITY_ADMINSECRETKEY",
        valueFrom: { secretKeyRef: { name: "rtcd", key: "admin" } },
      },
    ]);
    expect(container(deploy).envFrom).toEqual([{ secretRef: { name: "rtcd-env" } }]);
  });

  test("secret values written as plain env go to the chart's Secret, read through secretKeyRef", () => {
    const key = "an-admin-key-of-at-least-32-characters";
    const values = {
      configuration: {
        environmentVariables: {
          RTCD_API_SECURITY_ENABLEADMIN: '"true"',
          RTCD_API_SECURITY_ADMINSECRETKEY: `"${key}"`,
          RTCD_RTC_TURNCONFIG_STATICAUTHSECRET: "turn",
        },
      },
    };
    const objects = render(values);
    const deploy = find(objects, "Deployment");
    expect(container(deploy).env).toEqual([
      {
        name: "RTCD_API_SECURITY_ADMINSECRETKEY",
        valueFrom: { secretKeyRef: { name: "mattermost-rtcd-env", key: "RTCD_API_SECURITY_ADMINSECRETKEY" } },
      },
      { name: "RTCD_API_SECURITY_ENABLEADMIN", value: "true" },
      {
        name: "RTCD_RTC_TURNCONFIG_STATICAUTHSECRET",
        valueFrom: {
          secretKeyRef: { name: "mattermost-rtcd-env", key: "RTCD_RTC_TURNCONFIG_STATICAUTHSECRET" },
        },
      },
      { name: "RTCD_DRAIN_DEADLINESECONDS", value: "17990" },
      { name: "RTCD_LOGGER_ENABLEFILE", value: "false" },
    ]);
    expect(find(objects, "Secret", "mattermost-rtcd-env").stringData).toEqual({
      RTCD_API_SECURITY_ADMINSECRETKEY: key,
      RTCD_RTC_TURNCONFIG_STATICAUTHSECRET: "turn",
    });
    // A new secret value rolls the pods.
    const annotation = (v: Values) =>
      find(render(v), "Deployment").spec.template.metadata.annotations?.["checksum/secret-env"];
    const other = structuredClone(values);
    other.configuration.environmentVariables.RTCD_RTC_TURNCONFIG_STATICAUTHSECRET = "turn2";
    expect(annotation(values)).toMatch(/^[0-9a-f]{64}$/);
    expect(annotation(other)).not.toBe(annotation(values));
    expect(findAll(render({}), "Secret")).toEqual([]);
  });

  test("ports other than rtcd's defaults are passed to rtcd unless set", () => {
    const e = envOf(find(render({ service: { APIport: 9045, RTCport: 9443 } }), "Deployment"));
    expect(e).toMatchObject({
      RTCD_API_HTTP_LISTENADDRESS: ":9045",
      RTCD_RTC_ICEPORTUDP: "9443",
      RTCD_RTC_ICEPORTTCP: "9443",
    });
    const own = envOf(
      find(
        render({
          service: { RTCport: 9443 },
          configuration: { environmentVariables: { RTCD_RTC_ICEPORTUDP: '"9443"' } },
        }),
        "Deployment",
      ),
    );
    expect(own.RTCD_RTC_ICEPORTUDP).toBe("9443");
    expect(envOf(find(render({}), "Deployment")).RTCD_API_HTTP_LISTENADDRESS).toBeUndefined();
  });
});

describe("probes", () => {
  const probes = (values: Values) => {
    const c = container(find(render(values), "Deployment"));
    return { live: c.livenessProbe, ready: c.readinessProbe, env: envOf(find(render(values), "Deployment")) };
  };

  test("our rtcd (the default image) gets /healthz and the drain-aware /readyz, and a drain deadline under the grace", () => {
    const p = probes({});
    expect(p.live.httpGet).toEqual({ path: "/healthz", port: "api", scheme: "HTTP" });
    expect(p.ready.httpGet).toEqual({ path: "/readyz", port: "api", scheme: "HTTP" });
    expect(p.env.RTCD_DRAIN_DEADLINESECONDS).toBe("17990");
    expect(probes({ configuration: { terminationGracePeriod: 600 } }).env.RTCD_DRAIN_DEADLINESECONDS).toBe(
      "590",
    );
    expect(
      probes({ image: { repository: "registry.example.com/team/mattermost-rtcd-mediasoup" } }).ready.httpGet
        .path,
    ).toBe("/readyz");
  });

  test("other images get /version; endpoints can be forced", () => {
    expect(probes({ image: { repository: "mattermost/rtcd" } }).ready.httpGet.path).toBe("/version");
    expect(
      probes({ image: { repository: "x/rtcd" }, configuration: { probes: { endpoints: "drainAware" } } })
        .ready.httpGet.path,
    ).toBe("/readyz");
    expect(probes({ configuration: { probes: { endpoints: "version" } } }).live.httpGet.path).toBe(
      "/version",
    );
  });

  test("HTTPS when rtcd serves TLS (as the official chart's users enable it), or when forced", () => {
    expect(
      probes({ configuration: { environmentVariables: { RTCD_API_HTTP_TLS_ENABLE: '"true"' } } }).ready
        .httpGet.scheme,
    ).toBe("HTTPS");
    expect(
      probes({ configuration: { environmentVariables: { RTCD_API_HTTP_TLS_ENABLE: true } } }).live.httpGet
        .scheme,
    ).toBe("HTTPS");
    expect(
      probes({ configuration: { environmentVariables: { RTCD_API_HTTP_TLS_ENABLE: "false" } } }).live.httpGet
        .scheme,
    ).toBe("HTTP");
    expect(probes({ configuration: { probes: { scheme: "HTTPS" } } }).live.httpGet.scheme).toBe("HTTPS");
  });

  test("timings: set values win, 0 is kept", () => {
    const p = probes({
      configuration: {
        livenessProbeInitialDelaySeconds: 0,
        livenessProbeFailureThreshold: 6,
        readinessProbePeriodSeconds: 2,
        readinessProbeTimeoutSeconds: 1,
      },
    });
    expect(p.live).toMatchObject({
      initialDelaySeconds: 0,
      failureThreshold: 6,
      periodSeconds: 10,
      timeoutSeconds: 5,
    });
    expect(p.ready).toMatchObject({
      initialDelaySeconds: 30,
      failureThreshold: 3,
      periodSeconds: 2,
      timeoutSeconds: 1,
    });
  });
});

describe("pod settings", () => {
  test("defaults: one pod per node required, zones preferred", () => {
    const aff = find(render({}), "Deployment").spec.template.spec.affinity;
    expect(aff.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      seedAffinity("kubernetes.io/hostname"),
    ]);
    expect(aff.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
      { weight: 100, podAffinityTerm: seedAffinity() },
    ]);
  });

  test("podAntiAffinity: null drops the default affinity; tolerations: {} means none", () => {
    const pod = find(render({ affinity: { podAntiAffinity: null }, tolerations: {} }), "Deployment").spec
      .template.spec;
    expect(pod.affinity).toBeUndefined();
    expect(pod.tolerations).toBeUndefined();
  });

  test("security contexts merge key by key; null drops a key", () => {
    const d = find(
      render({
        podSecurityContext: { runAsUser: 1000, fsGroup: null },
        securityContext: { readOnlyRootFilesystem: false },
      }),
      "Deployment",
    );
    expect(d.spec.template.spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container(d).securityContext.readOnlyRootFilesystem).toBe(false);
    expect(container(d).securityContext.capabilities).toEqual({ drop: ["ALL"] });
  });

  test("extra volumes and mounts; a mount at /tmp replaces the chart's emptyDir", () => {
    const d = find(
      render({
        configuration: {
          extraVolumes: [{ name: "certs", secret: { secretName: "tls" } }],
          extraVolumeMounts: [{ name: "certs", mountPath: "/certs", readOnly: true }],
        },
      }),
      "Deployment",
    );
    expect(d.spec.template.spec.volumes).toEqual([
      { name: "tmp", emptyDir: {} },
      { name: "certs", secret: { secretName: "tls" } },
    ]);
    expect(container(d).volumeMounts).toEqual([
      { name: "tmp", mountPath: "/tmp" },
      { name: "certs", mountPath: "/certs", readOnly: true },
    ]);
    const own = find(
      render({
        configuration: {
          extraVolumes: [{ name: "data", emptyDir: {} }],
          extraVolumeMounts: [{ name: "data", mountPath: "/tmp" }],
        },
      }),
      "Deployment",
    );
    expect(own.spec.template.spec.volumes).toEqual([{ name: "data", emptyDir: {} }]);
    expect(container(own).volumeMounts).toEqual([{ name: "data", mountPath: "/tmp" }]);
  });

  test("pod annotations and labels, priority class, pull secrets, topology spread with the release's selector", () => {
    const d = find(
      render({
        podAnnotations: { a: "1" },
        podLabels: { team: "calls" },
        priorityClassName: "high",
        imagePullSecrets: [{ name: "regcred" }],
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
        ],
      }),
      "Deployment",
    );
    const t = d.spec.template;
    expect(t.metadata.annotations).toEqual({ a: "1" });
    expect(t.metadata.labels).toEqual({
      "app.kubernetes.io/name": "mattermost-rtcd",
      "app.kubernetes.io/instance": "mattermost-rtcd",
      team: "calls",
    });
    expect(t.spec.priorityClassName).toBe("high");
    expect(t.spec.imagePullSecrets).toEqual([{ name: "regcred" }]);
    expect(t.spec.topologySpreadConstraints[0].labelSelector).toEqual({
      matchLabels: d.spec.selector.matchLabels,
    });
  });

  test("image tag defaults to appVersion; Recreate strategy has no rollingUpdate", () => {
    const d = find(render({ configuration: { updateStrategy: "Recreate" } }), "Deployment");
    expect(container(d).image).toBe(`mattermost-rtcd-mediasoup:${VERSION}`);
    expect(d.spec.strategy).toEqual({ type: "Recreate" });
  });
});

describe("names", () => {
  test.for<[string, Values, string]>([
    ["release containing the chart name", {}, "mattermost-rtcd"],
    ["other release name", {}, "calls-mattermost-rtcd"],
    ["fullnameOverride", { fullnameOverride: "rtcd" }, "rtcd"],
    ["nameOverride", { nameOverride: "media" }, "calls-media"],
  ])("%s", ([label, values, name]) => {
    const release = label === "release containing the chart name" ? "mattermost-rtcd" : "calls";
    const objects = render(values, { release });
    expect(find(objects, "Deployment").metadata.name).toBe(name);
    expect(find(objects, "Service", name).spec.selector["app.kubernetes.io/instance"]).toBe(release);
  });
});
