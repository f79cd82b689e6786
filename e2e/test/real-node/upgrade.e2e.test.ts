// Upgrading, as users do it: release 0.1.0 (e2e/previous-release.json), its
// chart and images built from that commit by its own release script and
// pushed to the cluster's OCI registry, runs a call on real nodes; then the
// user upgrades to the working tree, once as a Helm user (this version's CRD,
// then `helm upgrade` to its chart and images) and once as a kustomize user
// (`kubectl apply -k` of this version's kustomization, then the
// MattermostRTCD's image). Checked each time: the call in progress never drops
// (it stays on the old pod, which drains), a new call lands on the new pod,
// rtcd's /version and the operator's image say the new release, the
// MattermostRTCD is never Degraded and is Ready again once rolled out, and no
// object that exists in both versions is recreated (same UID), the instance and
// both Deployments included. Ready is False (RolloutInProgress) while the new
// pod starts, by design: GitOps tools read it to know a rollout finished; the
// file prints that window and how long DNS had no serving pod.
// The Helm path applies the CRD itself, as calls.e2e.test.ts does: the CRD is
// shared by every test file in the cluster.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import {
  applyCrd,
  helm,
  kubectl,
  quietFor,
  tryHelm,
  tryKubectl,
  useCluster,
  useDiagnostics,
  useNamespace,
  waitFor,
} from "../../src/testing/index.ts";
import {
  previousRelease,
  type PreviousRelease,
  type ReleasedImage,
} from "../../src/testing/previous-release.ts";
import {
  ensureRealNodes,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeSkipReason,
  WatchedCall,
  realNodesReleased,
} from "../../src/testing/real-node.ts";
import { registryChart, registryImage } from "../../src/testing/registry.ts";
import { headlessRtcdService, rtcdPods, servingPod } from "../../src/testing/rtcd-pods.ts";
import {
  instanceStatus as statusIn,
  inventory,
  ourVersion,
  podImages,
  rtcdVersion as versionAt,
  StatusSampler,
  statusCondition as cond,
  type Obj,
} from "../../src/testing/upgrade.ts";

const skip = realNodeSkipReason();
if (skip) process.stderr.write(`[upgrade e2e] skipped: ${skip}\n`);

const API_PORT = 8045;
const RELEASE = "rtcd";
const OP_NS = "mattermost-rtcd-operator";
const ns = skip ? { name: "unused" } : useNamespace("upgrade");
if (!skip) useDiagnostics({ namespaces: () => [ns.name, OP_NS] });
const calls: WatchedCall[] = [];
const onRealNodes = { [REAL_NODE_LABEL]: "true" };
const tolerations = [{ ...REAL_NODE_TAINT, operator: "Equal" }];
let prev: PreviousRelease | undefined;

interface Images {
  rtcd: ReleasedImage;
  operator: ReleasedImage;
}
const ref = (i: ReleasedImage) => `${i.repository}:${i.tag}`;
const instanceStatus = () => statusIn(ns.name);
const rtcdVersion = (ip: string) => versionAt(ip, API_PORT);
const thisVersion = (): Images => ({ rtcd: registryImage("rtcd"), operator: registryImage("operator") });

/** Chart values for one version: the same settings, that version's images. */
function valuesFile(images: Images): string {
  const file = join(mkdtempSync(join(tmpdir(), "upgrade-")), "values.yaml");
  writeFileSync(
    file,
    stringify({
      image: { ...images.rtcd, pullPolicy: "IfNotPresent" },
      nodeSelector: onRealNodes,
      tolerations,
      configuration: {
        replicas: 1,
        environmentVariables: { RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true" },
        readinessProbeInitialDelaySeconds: 1,
        readinessProbePeriodSeconds: 2,
        livenessProbeInitialDelaySeconds: 5,
      },
      tests: { image: registryImage("curl"), nodeSelector: onRealNodes, tolerations },
      operator: {
        enabled: true,
        replicas: 1,
        image: { ...images.operator, pullPolicy: "IfNotPresent" },
        nodeSelector: onRealNodes,
        tolerations,
        crds: { install: false },
      },
    }),
  );
  return file;
}

/** A user's overlay of one version's kustomization: its operator image from the registry, on real nodes. */
function kustomization(src: string, operator: ReleasedImage): string {
  const dir = mkdtempSync(join(tmpdir(), "upgrade-kustomize-"));
  const digest = operator.tag.split("@")[1]!;
  const schedule = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "mattermost-rtcd-operator" },
    spec: { template: { spec: { nodeSelector: onRealNodes, tolerations } } },
  };
  writeFileSync(
    join(dir, "kustomization.yaml"),
    stringify({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: [relative(dir, join(src, "operator/config/default"))],
      images: [{ name: "mattermost-rtcd-operator", newName: operator.repository, digest }],
      patches: [{ patch: stringify(schedule) }],
    }),
  );
  return dir;
}

/**
 * One upgrade with a call in progress: `upgrade` does what the user does; then
 * the old pod drains its call to the end, the new pod serves `version` with
 * `rtcdImage`, nothing was recreated, and the instance was never Degraded.
 */
async function upgradeWithCall(
  flavour: string,
  installed: () => Promise<Map<string, string>>,
  upgrade: () => Promise<void>,
  want: { rtcdImage: string; version: string },
): Promise<void> {
  const service = await headlessRtcdService(ns.name);
  const before = await installed();
  const old = await servingPod(ns.name, service);
  const call = await WatchedCall.start(old.ip, API_PORT, `${flavour}-old`);
  calls.push(call);
  const sampler = new StatusSampler(ns.name, service);
  await upgrade();
  await waitFor(async () => (await rtcdPods(ns.name)).find((p) => p.name === old.name && p.terminating), {
    timeoutMs: 180_000,
    what: `${old.name} terminating after the upgrade`,
  });
  await call.flows(100);
  const fresh = await servingPod(ns.name, service, old.name);
  expect(fresh.image).toBe(want.rtcdImage);
  expect(await rtcdVersion(fresh.ip)).toMatch(ourVersion(want.version));
  const second = await WatchedCall.start(fresh.ip, API_PORT, `${flavour}-new`).catch(async (e: Error) => {
    // What the new pod said and was given, beside what the client saw.
    const logs = await tryKubectl(["logs", fresh.name, "-n", ns.name, "--tail=40"]);
    const spec = await tryKubectl([
      "get",
      "pod",
      fresh.name,
      "-n",
      ns.name,
      "-o",
      "jsonpath={.spec.containers[0]}",
    ]);
    throw new Error(
      `${e.message}\n--- ${fresh.name} on ${fresh.node}:\n${spec.stdout}\n${logs.stdout}${logs.stderr}`,
    );
  });
  calls.push(second);
  // The old pod keeps serving its call: nothing may stop it for a while.
  await quietFor(5000, {
    intervalMs: 1000,
    check: async () => {
      const still = (await rtcdPods(ns.name)).find((p) => p.name === old.name);
      expect(still?.running, `${old.name} must keep running while its call is up`).toBe(true);
    },
  });
  await call.flows(50);
  expect(call.dropped, call.describe()).toBe(false);
  await call.end();
  await waitFor(async () => !(await rtcdPods(ns.name)).some((p) => p.name === old.name), {
    timeoutMs: 90_000,
    intervalMs: 250,
    what: `${old.name} gone after its last call ended`,
  });
  await second.flows(50);
  expect(second.dropped, second.describe()).toBe(false);
  await second.end();
  const final = await waitFor(
    async () => {
      const s = await instanceStatus();
      return cond(s, "Ready")?.status === "True" ? s : undefined;
    },
    { timeoutMs: 120_000, what: "the MattermostRTCD Ready on this version" },
  );
  const timeline = await sampler.stop();
  process.stdout.write(`[upgrade e2e] ${flavour}: Ready during the upgrade: ${timeline}\n`);
  expect(sampler.degraded(), `Degraded during the upgrade: ${timeline}`).toEqual([]);
  expect(cond(final, "Degraded")?.status).toBe("False");

  const after = await installed();
  const recreated = [...before].filter(([k, uid]) => after.has(k) && after.get(k) !== uid).map(([k]) => k);
  const gone = [...before.keys()].filter((k) => !after.has(k));
  const added = [...after.keys()].filter((k) => !before.has(k));
  process.stdout.write(
    `[upgrade e2e] ${flavour}: objects ${before.size} before, ${after.size} after; gone: ${gone.join(", ") || "none"}; new: ${added.join(", ") || "none"}\n`,
  );
  expect(recreated, "objects recreated by the upgrade (same name, new UID)").toEqual([]);
  expect(gone, "objects the upgrade removed").toEqual([]);
  // The UID check covered what matters most: the instance and both Deployments.
  const kinds = [...before.keys()].map((k) => k.split("/")[0]);
  expect(kinds.filter((k) => k === "MattermostRTCD")).toHaveLength(1);
  expect(kinds.filter((k) => k === "Deployment")).toHaveLength(2);
}

describe.skipIf(!!skip)("upgrade from the previous release (real nodes)", () => {
  beforeAll(async () => {
    await useCluster();
    await ensureRealNodes(2);
    // Cold: builds the release's two images from its commit (minutes); warm: pushes them.
    prev = await previousRelease();
  }, 2_700_000);

  afterAll(async () => {
    for (const c of calls) await c.end().catch(() => undefined);
    process.stdout.write(
      `\n[upgrade e2e] calls: ${calls.length}, dropped: ${calls.filter((c) => c.dropped).length}\n` +
        calls.map((c) => `  ${c.describe()}\n`).join(""),
    );
    // Leave this version's CRD for the files after this one.
    await applyCrd();
    // Both parts' pods hold the nodes' ports until they have exited.
    await realNodesReleased(ns.name);
  });

  describe("with Helm (operator mode)", () => {
    afterAll(async () => {
      await tryHelm(["uninstall", RELEASE, "-n", ns.name, "--wait", "--timeout", "2m"]);
      // Its pods hold the nodes' ports (HostNetwork) until they have exited:
      // the next install must not meet them.
      await realNodesReleased(ns.name);
    });

    test("the previous release installs from its packaged chart and serves", async () => {
      const p = prev!;
      await kubectl(["apply", "--server-side", "--force-conflicts", "-f", join(p.src, "crds")]);
      const args = [
        "upgrade",
        "--install",
        RELEASE,
        p.chart.ref,
        "--version",
        p.chart.version,
        "--plain-http",
      ];
      await helm([...args, "-n", ns.name, "-f", valuesFile(p.images), "--wait", "--timeout", "5m"]);
      const pod = await servingPod(ns.name, await headlessRtcdService(ns.name));
      expect(pod.image).toBe(ref(p.images.rtcd));
      expect(await rtcdVersion(pod.ip)).toMatch(ourVersion(p.version));
      await waitFor(async () => cond(await instanceStatus(), "Ready")?.status === "True", {
        timeoutMs: 120_000,
        what: "the MattermostRTCD Ready on the previous release",
      });
    });

    test("helm upgrade to this version with a call in progress", async () => {
      const chart = await registryChart();
      const next = thisVersion();
      await upgradeWithCall(
        "helm",
        () =>
          inventory([ns.name], (o) => o.metadata.annotations?.["meta.helm.sh/release-namespace"] === ns.name),
        async () => {
          // The user's upgrade: this version's CRD, then its chart with its images.
          await applyCrd();
          // Not --wait: the old pod drains for as long as its call lasts.
          const args = ["upgrade", RELEASE, chart.ref, "--version", chart.version, "--plain-http"];
          await helm([...args, "-n", ns.name, "-f", valuesFile(next)]);
        },
        { rtcdImage: ref(next.rtcd), version: chart.version },
      );
      expect(await podImages(ns.name, "app.kubernetes.io/component=operator")).toContain(ref(next.operator));
    });
  });

  describe("with kubectl apply -k", () => {
    const INSTANCE = "rtcd-k";
    const opSelector = "app.kubernetes.io/name=mattermost-rtcd-operator";
    const isOurs = (o: Obj) => o.metadata.name === "mattermost-rtcd-operator";

    afterAll(async () => {
      await tryKubectl([
        "delete",
        "mattermostrtcd",
        INSTANCE,
        "-n",
        ns.name,
        "--wait=true",
        "--timeout=120s",
      ]);
      // Not `delete -k`: that would delete the CRD, and every MattermostRTCD with it.
      await tryKubectl(["delete", "namespace", OP_NS, "--wait=false"]);
      await tryKubectl(["delete", "clusterrolebinding,clusterrole", "mattermost-rtcd-operator"]);
    });

    const instance = (image: ReleasedImage) =>
      stringify({
        apiVersion: "rtcd.mattermost.com/v1alpha1",
        kind: "MattermostRTCD",
        metadata: { name: INSTANCE, namespace: ns.name },
        spec: {
          image,
          replicas: 1,
          nodeSelector: onRealNodes,
          tolerations,
          rtcd: { security: { allowSelfRegistration: true }, iceServers: [] },
          probes: {
            readiness: { initialDelaySeconds: 1, periodSeconds: 2 },
            liveness: { initialDelaySeconds: 5 },
          },
        },
      });
    const applyInstance = async (image: ReleasedImage) => {
      const file = join(mkdtempSync(join(tmpdir(), "upgrade-cr-")), "cr.yaml");
      writeFileSync(file, instance(image));
      await kubectl(["apply", "--server-side", "--force-conflicts", "-f", file]);
    };

    test("the previous release installs from its kustomization and serves", async () => {
      const p = prev!;
      await tryKubectl(["wait", "--for=delete", `namespace/${OP_NS}`, "--timeout=120s"]);
      await kubectl([
        "apply",
        "--server-side",
        "--force-conflicts",
        "-k",
        kustomization(p.src, p.images.operator),
      ]);
      await kubectl([
        "rollout",
        "status",
        "deployment/mattermost-rtcd-operator",
        "-n",
        OP_NS,
        "--timeout=180s",
      ]);
      await applyInstance(p.images.rtcd);
      const pod = await servingPod(ns.name, await headlessRtcdService(ns.name));
      expect(pod.image).toBe(ref(p.images.rtcd));
      expect(await rtcdVersion(pod.ip)).toMatch(ourVersion(p.version));
      expect(await podImages(OP_NS, opSelector)).toEqual(
        expect.arrayContaining([`${p.images.operator.repository}@${p.images.operator.tag.split("@")[1]}`]),
      );
    });

    test("kubectl apply -k of this version, then the instance's image, with a call in progress", async () => {
      const next = thisVersion();
      const version = (await registryChart()).version;
      await upgradeWithCall(
        "kustomize",
        () => inventory([ns.name, OP_NS], isOurs),
        async () => {
          await kubectl([
            "apply",
            "--server-side",
            "--force-conflicts",
            "-k",
            kustomization(join(import.meta.dirname, "../../.."), next.operator),
          ]);
          await kubectl([
            "rollout",
            "status",
            "deployment/mattermost-rtcd-operator",
            "-n",
            OP_NS,
            "--timeout=180s",
          ]);
          await applyInstance(next.rtcd);
        },
        { rtcdImage: ref(next.rtcd), version },
      );
      const digest = next.operator.tag.split("@")[1]!;
      const images = await podImages(OP_NS, opSelector);
      expect(images.length).toBeGreaterThan(0);
      expect(
        images.every((i) => i === `${next.operator.repository}@${digest}`),
        images.join(", "),
      ).toBe(true);
    });
  });
});
