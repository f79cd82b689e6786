// The chart on the real local cluster: the seed's sample values installed as
// a platform team runs them (`helm upgrade --install -f rtcd_values.yaml`),
// upgraded, rolled back and uninstalled, as a Deployment and as a DaemonSet;
// then operator mode (CRD, least-privilege RBAC, the operator Deployment, the
// MattermostRTCD). kwok nodes mark pods Ready without running containers, so
// these tests assert what Kubernetes made of the chart, not rtcd itself.
// Longer than our ~400-line norm on purpose: each step builds on the
// release the previous one left (install, upgrade, rollback, uninstall), so
// splitting the file would mean installing the chart again per file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { chartDir, repoRoot, seedValuesFile } from "../../src/chart/paths.ts";
import { chartWithCrd } from "../../src/chart/render.ts";
import { kwokNode } from "../../cluster/index.ts";
import {
  getJson,
  helm,
  kubectl,
  tryHelm,
  tryKubectl,
  useCluster,
  useNamespace,
  waitFor,
} from "../../src/testing/index.ts";

const ns = useNamespace("chart-install");

const SEED_LABEL = "kops.k8s.io/instancegroup";
const ZONE = "topology.kubernetes.io/zone";
const CRD_NAME = "mattermostrtcds.rtcd.mattermost.com";

interface Taint {
  key: string;
  value?: string;
  effect: string;
}
interface NodeObj {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { taints?: Taint[] };
}
interface Container {
  name: string;
  env?: { name: string; value?: string }[];
  ports?: { name: string; containerPort: number; hostPort?: number; protocol: string }[];
}
interface PodSpec {
  nodeName?: string;
  terminationGracePeriodSeconds?: number;
  nodeSelector?: Record<string, string>;
  tolerations?: Taint[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- compared whole against the values file
  affinity?: any;
  hostNetwork?: boolean;
  containers: Container[];
}
interface PodObj {
  metadata: { name: string; deletionTimestamp?: string };
  spec: PodSpec;
  status: { conditions?: { type: string; status: string }[] };
}
interface Workload {
  metadata: { generation: number };
  spec: { replicas?: number; template: { spec: PodSpec } };
  status: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
  };
}

const seed = parse(readFileSync(seedValuesFile, "utf8")) as {
  affinity: unknown;
  tolerations: Taint[];
  nodeSelector: Record<string, string>;
};

let zoneOf = new Map<string, string>();
const nodeNames: string[] = [];

// The seed's nodeSelector and tolerations expect nodes labelled
// kops.k8s.io/instancegroup=rtcd and tainted rtcd=true:NoSchedule. Other test
// files share this cluster, so rather than tainting its nodes this file adds
// its own kwok nodes, one per zone, labelled and tainted so, and removes them
// afterwards: the seed's pods can only land there, and nobody else's can.
beforeAll(async () => {
  await useCluster();
  const existing = (await getJson<{ items: NodeObj[] }>(["get", "nodes"])).items;
  const zones = [...new Set(existing.map((n) => n.metadata.labels?.[ZONE]).filter((z): z is string => !!z))];
  if (zones.length < 3) throw new Error(`the cluster's nodes span ${zones.length} zones; these tests need 3`);
  const suffix = ns.name.slice(-6);
  const nodes = zones.slice(0, 3).map((zone, i) => {
    const name = `chart-rtcd-${suffix}-${i + 1}`;
    nodeNames.push(name);
    return kwokNode({
      name,
      zone,
      labels: { [SEED_LABEL]: "rtcd" },
      taints: [{ key: "rtcd", value: "true", effect: "NoSchedule" }],
    });
  });
  await kubectl(["apply", "-f", "-"], { input: nodes.map((n) => JSON.stringify(n)).join("\n") });
  zoneOf = new Map(nodes.map((n) => [n.metadata.name, n.metadata.labels[ZONE]]));
  await waitFor(
    async () => {
      const list = await getJson<{
        items: (NodeObj & { status?: { conditions?: { type: string; status: string }[] } })[];
      }>(["get", "nodes", "-l", `${SEED_LABEL}=rtcd`]);
      const ready = list.items.filter(
        (n) =>
          nodeNames.includes(n.metadata.name) &&
          n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return ready.length === nodeNames.length;
    },
    { timeoutMs: 60_000, what: "the test's kwok nodes to be Ready" },
  );
});

afterAll(async () => {
  if (nodeNames.length) await tryKubectl(["delete", "node", ...nodeNames, "--wait=false"]);
});

const install = (release: string, ...args: string[]) =>
  helm(["upgrade", "--install", release, chartDir, "-n", ns.name, "-f", seedValuesFile, ...args]);

async function pods(release: string): Promise<PodObj[]> {
  const list = await getJson<{ items: PodObj[] }>([
    "get",
    "pods",
    "-n",
    ns.name,
    "-l",
    `app.kubernetes.io/instance=${release},app.kubernetes.io/name=mattermost-rtcd`,
  ]);
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

const ready = (p: PodObj) => p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");

// The Deployment rolled out: every replica updated, ready, and only those.
async function rolledOut(name: string, replicas: number): Promise<Workload> {
  return waitFor(
    async () => {
      const d = await getJson<Workload>(["get", "deployment", name, "-n", ns.name]);
      const s = d.status;
      const done =
        s.observedGeneration === d.metadata.generation &&
        s.replicas === replicas &&
        s.updatedReplicas === replicas &&
        s.readyReplicas === replicas;
      return done && d;
    },
    { timeoutMs: 90_000, what: `deployment ${name} to roll out ${replicas} ready replicas` },
  );
}

function envOf(spec: PodSpec): Record<string, string | undefined> {
  return Object.fromEntries((spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
}

async function leftovers(release: string): Promise<string[]> {
  const out = await kubectl([
    "get",
    "deployments,daemonsets,statefulsets,replicasets,pods,services,poddisruptionbudgets,serviceaccounts,secrets,configmaps,ingresses,roles,rolebindings",
    "-n",
    ns.name,
    "-l",
    `app.kubernetes.io/instance=${release}`,
    "-o",
    "name",
  ]);
  const helmSecrets = await kubectl([
    "get",
    "secrets",
    "-n",
    ns.name,
    "-l",
    `owner=helm,name=${release}`,
    "-o",
    "name",
  ]);
  return (out + helmSecrets).split("\n").filter(Boolean);
}

describe("direct mode, the seed's sample values as a Deployment", () => {
  const release = "mattermost-rtcd";

  test("a values file with a typo in a key is refused, naming the key, and installs nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rtcd-values-"));
    const typo = join(dir, "typo.yaml");
    writeFileSync(
      typo,
      readFileSync(seedValuesFile, "utf8").replace("terminationGracePeriod:", "terminationGracePeriode:"),
    );
    const res = await tryHelm(["upgrade", "--install", release, chartDir, "-n", ns.name, "-f", typo]);
    rmSync(dir, { recursive: true, force: true });
    expect(res.ok).toBe(false);
    expect(res.stderr).toMatch(
      /at '\/configuration'.*additional properties 'terminationGracePeriode' not allowed/s,
    );
    expect(await leftovers(release)).toEqual([]);
  });

  test("helm upgrade --install: 2 ready replicas in 2 zones, with the seed's scheduling and the 5-hour grace", async () => {
    await install(release);
    const d = await rolledOut(release, 2);
    expect(d.spec.replicas).toBe(2);
    const spec = d.spec.template.spec;
    expect(spec.terminationGracePeriodSeconds).toBe(18000);
    expect(spec.nodeSelector).toEqual(seed.nodeSelector);
    expect(spec.tolerations).toEqual(seed.tolerations);
    expect(spec.affinity).toEqual(seed.affinity);
    expect(spec.hostNetwork).toBe(true);
    expect(envOf(spec)).toEqual({
      RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
      RTCD_LOGGER_CONSOLELEVEL: "DEBUG",
      RTCD_LOGGER_ENABLEFILE: "false",
      RTCD_RTC_ICESERVERS: '[{"urls":["stun:stun.global.calls.mattermost.com:3478"]}]',
      RTCD_DRAIN_DEADLINESECONDS: "17990",
    });
    expect(spec.containers[0]?.ports?.map((p) => [p.name, p.containerPort, p.hostPort, p.protocol])).toEqual([
      ["api", 8045, 8045, "TCP"],
      ["rtc-udp", 8443, 8443, "UDP"],
      ["rtc-tcp", 8443, 8443, "TCP"],
    ]);

    const running = await pods(release);
    expect(running).toHaveLength(2);
    expect(running.every(ready)).toBe(true);
    const zones = running.map((p) => zoneOf.get(p.spec.nodeName ?? ""));
    expect(zones.every(Boolean)).toBe(true);
    expect(new Set(zones).size).toBe(2);
    for (const p of running) expect(p.spec.terminationGracePeriodSeconds).toBe(18000);

    const svc = await getJson<{
      spec: { clusterIP: string; type: string; ports: { name: string; port: number; protocol: string }[] };
    }>(["get", "service", release, "-n", ns.name]);
    expect(svc.spec.type).toBe("ClusterIP");
    expect(svc.spec.clusterIP).toBe("None");
    expect(svc.spec.ports.map((p) => [p.name, p.port, p.protocol])).toEqual([
      ["api", 8045, "TCP"],
      ["rtc-udp", 8443, "UDP"],
      ["rtc-tcp", 8443, "TCP"],
    ]);
    const pdb = await getJson<{ spec: { maxUnavailable: number } }>(["get", "pdb", release, "-n", ns.name]);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });

  test("helm upgrade changes the workload: new env and a third replica in the third zone", async () => {
    await install(
      release,
      "--set-string",
      "configuration.environmentVariables.RTCD_LOGGER_CONSOLELEVEL=INFO",
      "--set",
      "configuration.replicas=3",
    );
    const d = await rolledOut(release, 3);
    expect(envOf(d.spec.template.spec).RTCD_LOGGER_CONSOLELEVEL).toBe("INFO");
    const running = await waitFor(
      async () => {
        const p = await pods(release);
        return p.length === 3 && p.every(ready) && p;
      },
      { timeoutMs: 60_000, what: "3 ready rtcd pods" },
    );
    expect(new Set(running.map((p) => zoneOf.get(p.spec.nodeName ?? ""))).size).toBe(3);
    for (const p of running) expect(envOf(p.spec).RTCD_LOGGER_CONSOLELEVEL).toBe("INFO");
  });

  test("helm rollback returns to the first revision", async () => {
    await helm(["rollback", release, "1", "-n", ns.name]);
    const d = await rolledOut(release, 2);
    expect(envOf(d.spec.template.spec).RTCD_LOGGER_CONSOLELEVEL).toBe("DEBUG");
    const history = JSON.parse(await helm(["history", release, "-n", ns.name, "-o", "json"])) as unknown[];
    expect(history).toHaveLength(3);
  });

  test("helm uninstall leaves nothing", async () => {
    await helm(["uninstall", release, "-n", ns.name, "--wait"]);
    await waitFor(async () => (await leftovers(release)).length === 0, {
      timeoutMs: 60_000,
      what: `nothing of release ${release} left`,
    });
  });
});

describe("direct mode, the seed's sample values as a DaemonSet", () => {
  const release = "rtcd-ds";

  test("one ready pod on every labelled node, one per zone", async () => {
    await install(release, "--set", "deploymentType=daemonset");
    const ds = await waitFor(
      async () => {
        const d = await getJson<Workload>(["get", "daemonset", `${release}-mattermost-rtcd`, "-n", ns.name]);
        const s = d.status;
        return (
          s.observedGeneration === d.metadata.generation &&
          s.desiredNumberScheduled === zoneOf.size &&
          s.numberReady === zoneOf.size &&
          d
        );
      },
      { timeoutMs: 90_000, what: "the DaemonSet to be ready on every node" },
    );
    expect(ds.spec.template.spec.terminationGracePeriodSeconds).toBe(18000);
    expect(ds.spec.template.spec.tolerations).toEqual(seed.tolerations);
    const running = await pods(release);
    expect(new Set(running.map((p) => zoneOf.get(p.spec.nodeName ?? ""))).size).toBe(zoneOf.size);
  });

  test("an upgrade rolls the DaemonSet; uninstall leaves nothing", async () => {
    await install(
      release,
      "--set",
      "deploymentType=daemonset",
      "--set",
      "configuration.terminationGracePeriod=600",
    );
    await waitFor(
      async () => {
        const d = await getJson<Workload>(["get", "daemonset", `${release}-mattermost-rtcd`, "-n", ns.name]);
        const s = d.status;
        return (
          s.observedGeneration === d.metadata.generation &&
          s.updatedNumberScheduled === zoneOf.size &&
          s.numberReady === zoneOf.size &&
          d.spec.template.spec.terminationGracePeriodSeconds === 600
        );
      },
      { timeoutMs: 90_000, what: "the DaemonSet to roll out the new grace period" },
    );
    await helm(["uninstall", release, "-n", ns.name, "--wait"]);
    await waitFor(async () => (await leftovers(release)).length === 0, {
      timeoutMs: 60_000,
      what: `nothing of release ${release} left`,
    });
  });
});

describe("operator mode", () => {
  // The chart with its CRD copy (generated into a temporary copy when files/crds/ is not there yet).
  const chart = chartWithCrd();
  const installOp = (...args: string[]) =>
    helm([
      "upgrade",
      "--install",
      release,
      chart,
      "-n",
      ns.name,
      "-f",
      seedValuesFile,
      "--set",
      "operator.enabled=true",
      ...args,
    ]);
  const release = "rtcd-op";
  const operatorName = `${release}-mattermost-rtcd-operator`;
  const clusterRole = `${operatorName}-${ns.name}`;
  // A CRD already there (e.g. applied from crds/ by the operator's tests) is
  // adopted by the release, as the chart README tells users, and its labels
  // and annotations are put back afterwards.
  let before: { labels: Record<string, string>; annotations: Record<string, string> } | undefined;
  const ADOPT_LABELS = ["app.kubernetes.io/managed-by", "helm.sh/chart"];
  const ADOPT_ANNOTATIONS = [
    "meta.helm.sh/release-name",
    "meta.helm.sh/release-namespace",
    "helm.sh/resource-policy",
  ];

  beforeAll(async () => {
    const crd = await tryKubectl(["get", "crd", CRD_NAME, "-o", "json"]);
    if (!crd.ok) return;
    const meta = (
      JSON.parse(crd.stdout) as {
        metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
      }
    ).metadata;
    before = { labels: meta.labels ?? {}, annotations: meta.annotations ?? {} };
    await kubectl(["label", "crd", CRD_NAME, "app.kubernetes.io/managed-by=Helm", "--overwrite"]);
    await kubectl([
      "annotate",
      "crd",
      CRD_NAME,
      `meta.helm.sh/release-name=${release}`,
      `meta.helm.sh/release-namespace=${ns.name}`,
      "--overwrite",
    ]);
  });

  afterAll(async () => {
    if (!before) {
      await tryKubectl(["delete", "crd", CRD_NAME, "--wait=false"]);
      return;
    }
    const restore = (kind: "label" | "annotate", keys: string[], old: Record<string, string>) =>
      tryKubectl([
        kind,
        "crd",
        CRD_NAME,
        "--overwrite",
        ...keys.map((k) => (old[k] === undefined ? `${k}-` : `${k}=${old[k]}`)),
      ]);
    await restore("label", ADOPT_LABELS, before.labels);
    await restore("annotate", ADOPT_ANNOTATIONS, before.annotations);
  });

  const getCr = () =>
    getJson<{ spec: Record<string, unknown> }>([
      "get",
      "mattermostrtcds.rtcd.mattermost.com",
      `${release}-mattermost-rtcd`,
      "-n",
      ns.name,
    ]);

  test("the first install brings the CRD, the operator's RBAC and Deployment, and no rtcd workload", async () => {
    await installOp();
    await waitFor(
      async () => {
        const crd = await getJson<{ status?: { conditions?: { type: string; status: string }[] } }>([
          "get",
          "crd",
          CRD_NAME,
        ]);
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      },
      { timeoutMs: 30_000, what: "the CRD to be established" },
    );
    const crd = await getJson<{ metadata: { annotations: Record<string, string> } }>([
      "get",
      "crd",
      CRD_NAME,
    ]);
    expect(crd.metadata.annotations["helm.sh/resource-policy"]).toBe("keep");

    // The same rules as the operator's own kustomize RBAC.
    const want = parse(readFileSync(join(repoRoot, "operator/config/rbac/cluster_role.yaml"), "utf8")) as {
      rules: unknown[];
    };
    // By default a Role in the release namespace only, no cluster-wide rights.
    const role = await getJson<{ rules: unknown[] }>(["get", "role", operatorName, "-n", ns.name]);
    expect(role.rules).toEqual(want.rules);
    expect((await tryKubectl(["get", "clusterrole", clusterRole])).ok).toBe(false);
    const sa = `system:serviceaccount:${ns.name}:${operatorName}`;
    const can = async (...args: string[]) =>
      (await tryKubectl(["auth", "can-i", ...args, "--as", sa])).stdout.trim();
    expect(await can("patch", "deployments.apps", "-n", ns.name)).toBe("yes");
    expect(await can("watch", "mattermostrtcds.rtcd.mattermost.com", "-n", ns.name)).toBe("yes");
    expect(await can("watch", "mattermostrtcds.rtcd.mattermost.com", "--all-namespaces")).toBe("no");
    expect(await can("create", "leases.coordination.k8s.io", "-n", ns.name)).toBe("yes");
    expect(await can("list", "nodes")).toBe("no");
    // Pods are read for status and patched only for the autoscaler's deletion cost; never deleted.
    expect(await can("list", "pods", "-n", ns.name)).toBe("yes");
    expect(await can("delete", "pods", "-n", ns.name)).toBe("no");
    expect(await can("create", "statefulsets.apps", "-n", ns.name)).toBe("no");

    const op = await getJson<
      Workload & { spec: { template: { spec: PodSpec & { serviceAccountName: string } } } }
    >(["get", "deployment", operatorName, "-n", ns.name]);
    expect(op.spec.template.spec.serviceAccountName).toBe(operatorName);
    expect(op.spec.template.spec.containers[0]?.name).toBe("operator");
    // The release holds the operator, not rtcd's workload (an operator that
    // runs in this cluster may still make one from the MattermostRTCD). The
    // MattermostRTCD is in the first release only when the cluster served
    // its CRD before (customResource: auto).
    const manifest = parseAllDocuments(await helm(["get", "manifest", release, "-n", ns.name]))
      .map((d) => d.toJS() as { kind: string; metadata: { name: string } } | null)
      .filter((o) => o !== null);
    expect(manifest.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name)).toEqual([
      operatorName,
    ]);
    expect(manifest.filter((o) => ["DaemonSet", "StatefulSet", "Service"].includes(o.kind))).toEqual([]);
    expect(manifest.some((o) => o.kind === "MattermostRTCD")).toBe(before !== undefined);
  });

  test("the MattermostRTCD passes a server-side dry run, and the next upgrade creates it", async () => {
    const cr = await helm([
      "template",
      release,
      chart,
      "-n",
      ns.name,
      "-f",
      seedValuesFile,
      "--set",
      "operator.enabled=true",
      "--set",
      "operator.customResource=always",
      "--show-only",
      "templates/operator/mattermostrtcd.yaml",
    ]);
    const dry = await kubectl(["apply", "--dry-run=server", "-n", ns.name, "-f", "-", "-o", "json"], {
      input: cr,
    });
    expect((JSON.parse(dry) as { kind: string }).kind).toBe("MattermostRTCD");

    await installOp();
    const got = await getCr();
    expect(got.spec).toMatchObject({
      deploymentType: "Deployment",
      replicas: 2,
      terminationGracePeriodSeconds: 18000,
      nodeSelector: seed.nodeSelector,
      tolerations: seed.tolerations,
      affinity: seed.affinity,
      networking: { mode: "HostNetwork" },
      rtcd: { security: { allowSelfRegistration: true }, logging: { level: "DEBUG" } },
    });
  });

  test("an upgrade changes the MattermostRTCD (even to a DaemonSet); rollback restores it", async () => {
    await installOp("--set", "configuration.replicas=3");
    expect((await getCr()).spec).toMatchObject({ deploymentType: "Deployment", replicas: 3 });
    await installOp("--set", "deploymentType=daemonset");
    const ds = (await getCr()).spec;
    expect(ds["deploymentType"]).toBe("DaemonSet");
    expect(ds["replicas"]).toBeUndefined();
    await helm(["rollback", release, "2", "-n", ns.name]);
    expect((await getCr()).spec).toMatchObject({ deploymentType: "Deployment", replicas: 2 });
  });

  test("helm uninstall removes all but the CRD", async () => {
    await helm(["uninstall", release, "-n", ns.name, "--wait"]);
    await waitFor(async () => (await leftovers(release)).length === 0, {
      timeoutMs: 60_000,
      what: `nothing of release ${release} left`,
    });
    expect((await tryKubectl(["get", "clusterrole", clusterRole])).ok).toBe(false);
    expect((await tryKubectl(["get", "clusterrolebinding", clusterRole])).ok).toBe(false);
    expect(
      (await tryKubectl(["get", "mattermostrtcds.rtcd.mattermost.com", "-n", ns.name, "-o", "name"])).stdout,
    ).toBe("");
    expect((await tryKubectl(["get", "crd", CRD_NAME])).ok).toBe(true);
  });
});
