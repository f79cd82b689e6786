// The structure of skaffold.yaml, e2e/kind/cluster.yaml and the kind CI
// workflow, checked in the unit tier (seconds, no docker): the fields
// skaffold's v4beta schema requires, images named as the chart, the operator
// and the kind provider expect, Dockerfiles and chart values that exist, what
// the chart renders with skaffold's values, and a workflow that calls the
// same scripts as npm test. skaffold itself runs against a real kind cluster
// in e2e/test/kind/kind.kind.test.ts (skaffold build, skaffold run -p kind).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { render } from "../src/chart/render.ts";
import {
  kindClusterName,
  kindImages,
  kindPrerequisites,
  providerName,
  repoRoot,
} from "../src/testing/providers.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML, asserted on field by field
type Any = any;
const load = (file: string): Any => parse(readFileSync(join(repoRoot, file), "utf8"));
const skaffold = load("skaffold.yaml");
const chartValues = load("charts/mattermost-rtcd/values.yaml");
const release = skaffold.deploy.helm.releases[0];

/** Does a dotted values path exist in the chart's values.yaml? */
function hasValue(path: string): boolean {
  let node: Any = chartValues;
  for (const part of path.split(".")) {
    if (node === null || typeof node !== "object" || !(part in node)) return false;
    node = node[part];
  }
  return true;
}

function nested(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(flat)) {
    const parts = path.split(".");
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = value;
  }
  return out;
}

describe("skaffold.yaml", () => {
  it("is a skaffold v4beta Config with build, deploy and a kind profile", () => {
    expect(skaffold.apiVersion).toMatch(/^skaffold\/v4beta\d+$/);
    expect(skaffold.kind).toBe("Config");
    expect(Object.keys(skaffold).sort()).toEqual([
      "apiVersion",
      "build",
      "deploy",
      "kind",
      "metadata",
      "profiles",
    ]);
    expect(skaffold.build.local.push).toBe(false);
  });

  it("builds both images, named as the chart's values and the kind provider name them, from the repository root", () => {
    const artifacts: { image: string; context: string; docker: { dockerfile: string } }[] =
      skaffold.build.artifacts;
    expect(artifacts.map((a) => a.image)).toEqual([
      chartValues.operator.image.repository,
      chartValues.image.repository,
    ]);
    expect(artifacts.map((a) => a.image)).toEqual(
      Object.values(kindImages({})).map((i) => i.replace(/:.*$/, "")),
    );
    for (const a of artifacts) expect(a.context, a.image).toBe(".");
    expect(artifacts.map((a) => a.docker.dockerfile)).toEqual(["operator/Dockerfile", "rtcd/Dockerfile"]);
    // rtcd/Dockerfile is rtcd part 2's deliverable; the operator's exists today.
    expect(existsSync(join(repoRoot, "operator/Dockerfile"))).toBe(true);
  });

  it("deploys the chart in operator mode, with the images it built, after applying the CRD", () => {
    expect(release.chartPath).toBe("charts/mattermost-rtcd");
    expect(existsSync(join(repoRoot, release.chartPath, "Chart.yaml"))).toBe(true);
    const keys = [...Object.keys(release.setValues), ...Object.keys(release.setValueTemplates)];
    for (const k of keys) expect(hasValue(k), `${k} is a key of the chart's values.yaml`).toBe(true);
    expect(release.setValues["operator.enabled"]).toBe(true);
    expect(release.setValueTemplates).toEqual({
      "operator.image.repository": "{{.IMAGE_REPO_mattermost_rtcd_operator}}",
      "operator.image.tag": "{{.IMAGE_TAG_mattermost_rtcd_operator}}",
      "image.repository": "{{.IMAGE_REPO_mattermost_rtcd_mediasoup}}",
      "image.tag": "{{.IMAGE_TAG_mattermost_rtcd_mediasoup}}",
    });
    const hook: string[] = skaffold.deploy.helm.hooks.before[0].host.command;
    expect(hook.slice(0, 2)).toEqual(["kubectl", "apply"]);
    expect(existsSync(join(repoRoot, hook[hook.length - 1]!))).toBe(true);
    // The chart must not install the CRD the hook applied (Helm would refuse to adopt it).
    expect(release.setValues["operator.crds.install"]).toBe(false);
  });

  it("with skaffold's values the chart renders the operator and a MattermostRTCD on the built images", () => {
    const values = nested({
      ...release.setValues,
      "operator.image.repository": "registry.test/op",
      "operator.image.tag": "t1",
      "image.repository": "registry.test/mattermost-rtcd-mediasoup",
      "image.tag": "t2",
    });
    const objs = render(values, { release: release.name, namespace: release.namespace });
    const op = objs.find((o) => o.kind === "Deployment");
    expect(op?.spec.template.spec.containers[0].image).toBe("registry.test/op:t1");
    const cr = objs.find((o) => o.kind === "MattermostRTCD");
    expect(cr?.spec.image).toMatchObject({
      repository: "registry.test/mattermost-rtcd-mediasoup",
      tag: "t2",
    });
    expect(objs.some((o) => o.kind === "CustomResourceDefinition")).toBe(false);
  });

  it("the kind profile targets the kind provider's cluster", () => {
    const kind = skaffold.profiles.find((p: Any) => p.name === "kind");
    expect(kind.deploy.kubeContext).toBe(`kind-${kindClusterName({})}`);
    expect(kind.activation[0].kubeContext).toBe(`kind-${kindClusterName({})}`);
  });
});

describe("e2e/kind/cluster.yaml", () => {
  const cfg = load("e2e/kind/cluster.yaml");
  it("is a kind v1alpha4 cluster named as the provider expects, with one worker per zone", () => {
    expect(cfg.kind).toBe("Cluster");
    expect(cfg.apiVersion).toBe("kind.x-k8s.io/v1alpha4");
    expect(cfg.name).toBe(kindClusterName({}));
    const workers = cfg.nodes.filter((n: Any) => n.role === "worker");
    expect(cfg.nodes.filter((n: Any) => n.role === "control-plane")).toHaveLength(1);
    expect(workers).toHaveLength(3);
    expect(workers.map((w: Any) => w.labels["topology.kubernetes.io/zone"]).sort()).toEqual([
      "zone-a",
      "zone-b",
      "zone-c",
    ]);
  });
});

describe(".github/workflows/e2e-kind.yml", () => {
  const wf = load(".github/workflows/e2e-kind.yml");
  const job = wf.jobs.e2e;
  it("runs npm run e2e with the kind provider on two Kubernetes minors", () => {
    expect(job.env.E2E_PROVIDER).toBe("kind");
    const minors = (job.strategy.matrix.kubernetes as string[]).map((v) => /^v1\.(\d+)\.\d+$/.exec(v)?.[1]);
    expect(minors.every(Boolean)).toBe(true);
    expect(new Set(minors).size).toBe(2);
    expect(job.steps.some((s: Any) => /npm run e2e$/.test(s.run ?? ""))).toBe(true);
    // The same scripts as here: kind.sh up, diagnose on failure, down always.
    expect(job.steps.some((s: Any) => /e2e\/kind\/kind\.sh up/.test(s.run ?? ""))).toBe(true);
    expect(job.steps.some((s: Any) => s.if === "failure()" && /kind\.sh diagnose/.test(s.run))).toBe(true);
    expect(job.steps.some((s: Any) => s.if === "always()" && /kind\.sh down/.test(s.run))).toBe(true);
  });
});

describe("E2E_PROVIDER", () => {
  it("defaults to local, treats E2E_KUBECONFIG as existing, and refuses unknown names", () => {
    expect(providerName({})).toBe("local");
    expect(providerName({ E2E_KUBECONFIG: "/k" })).toBe("existing");
    expect(providerName({ E2E_PROVIDER: "kind", E2E_KUBECONFIG: "/k" })).toBe("kind");
    expect(() => providerName({ E2E_PROVIDER: "minikube" })).toThrow(/not one of local, kind, existing/);
  });

  it("kind names every missing prerequisite instead of failing later", () => {
    const missing = kindPrerequisites(() => false).join("\n");
    for (const tool of ["docker", "apt-get", "go", "kind", "kubectl", "helm", "buildah"]) {
      expect(missing).toContain(tool);
    }
    expect(missing).toContain("e2e/kind/docker-host.sh");
    expect(kindPrerequisites((t) => t === "apt-get" || t === "go" || t === "buildah")).toEqual([]);
  });
});
