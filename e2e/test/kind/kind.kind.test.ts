// E2E_PROVIDER=kind inside `npm test`: a real kind cluster (e2e/kind/kind.sh:
// docker, the offline node image, e2e/kind/cluster.yaml's control plane and
// three zoned workers, our buildah-built images loaded), created here and
// deleted at the end, also when a test fails.
//
// A subset of the e2e suite, chosen for what only real nodes show and kept
// within the CI budget (the local cluster's suite already covers the
// operator's logic on simulated nodes): the chart installs the operator in
// operator mode; its MattermostRTCD runs our rtcd image and turns Ready,
// one pod per zone; and a pod reaches rtcd's /version through the Service
// (cluster DNS, kube-proxy, the pod network). Then skaffold's inner loop on
// the same cluster: `skaffold build` and `skaffold run -p kind` deploy the
// chart in operator mode with images docker just built, and the sample turns
// Ready. The whole suite on kind:
// `E2E_PROVIDER=kind npm run e2e`. MMRTCD_SKIP_KIND=1 skips this file.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cacheDir, toolPath, versions } from "../../cluster/index.ts";
import { waitFor } from "../../src/testing/wait.ts";

const root = join(import.meta.dirname, "../../..");
const exec = promisify(execFile);
const NS = "mmrtcd-kind";
const RELEASE = "mmrtcd";
const CR = `${RELEASE}-mattermost-rtcd`;
const tag = process.env["E2E_IMAGE_TAG"] ?? "e2e";
const skip = Boolean(process.env["MMRTCD_SKIP_KIND"]);
let env: NodeJS.ProcessEnv = process.env;

async function kindSh(cmd: "up" | "down" | "diagnose"): Promise<string> {
  const run = exec("bash", [join(root, "e2e/kind/kind.sh"), cmd], { cwd: root, maxBuffer: 64 << 20 });
  // Its progress and timings (node image, cluster creation) go to the run's log.
  if (cmd !== "diagnose") run.child.stderr?.on("data", (b: Buffer) => process.stderr.write(b));
  const r = await run.catch((err: unknown) => {
    const e = err as { stderr?: string };
    throw new Error(`kind.sh ${cmd} failed:\n${(e.stderr ?? "").slice(-4000)}`, { cause: err });
  });
  return r.stdout;
}

async function tool(bin: string, args: string[], timeoutMs = 300_000): Promise<string> {
  const r = await exec(bin, args, { cwd: root, env, timeout: timeoutMs, maxBuffer: 64 << 20 }).catch(
    (err: unknown) => {
      const e = err as { stderr?: string; stdout?: string };
      throw new Error(`${bin} ${args.join(" ")} failed:\n${e.stderr ?? ""}${e.stdout ?? ""}`, { cause: err });
    },
  );
  return r.stdout;
}
const kubectl = (args: string[], timeoutMs?: number) => tool(toolPath("kubectl"), args, timeoutMs);
const helm = (args: string[]) => tool(toolPath("helm"), args);
const cluster = process.env["E2E_KIND_CLUSTER"] ?? "mattermost-rtcd-e2e";

/** kind (with kubeadm and the node image's etcd) or skaffold: cached, or
 * being built by `npm test` in the background (build-bins.sh waits for that
 * build), or built here on a machine that has none. Each is awaited only where
 * it is first needed, so the cluster comes up while skaffold still builds. */
async function buildBins(what: "kind" | "skaffold"): Promise<void> {
  const r = exec("bash", [join(root, "e2e/cluster/build-bins.sh"), what], { cwd: root, maxBuffer: 64 << 20 });
  r.child.stderr?.on("data", (b: Buffer) => process.stderr.write(b));
  await r;
}

/** skaffold with what it runs on PATH: the cached kind, kubectl and helm. */
function skaffold(args: string[]): Promise<string> {
  const v = versions() as unknown as Record<string, string>;
  const dirs = [`skaffold-${v["SKAFFOLD_VERSION"]}`, `kind-${v["KIND_VERSION"]}`].map((d) =>
    join(cacheDir(), d),
  );
  const path = [...dirs, dirname(toolPath("kubectl")), dirname(toolPath("helm")), process.env["PATH"]].join(
    ":",
  );
  const saved = env;
  env = { ...env, PATH: path, SKAFFOLD_UPDATE_CHECK: "false", SKAFFOLD_COLLECT_METRICS: "false" };
  return tool(
    join(dirs[0]!, "skaffold"),
    [...args, "-p", "kind", "--kube-context", `kind-${cluster}`],
    600_000,
  ).finally(() => (env = saved));
}

describe.skipIf(skip)("kind: the chart's operator mode on a real 3-zone kind cluster", () => {
  beforeAll(async () => {
    await buildBins("kind");
    const kubeconfig = (await kindSh("up")).trim().split("\n").pop()!;
    env = { ...process.env, KUBECONFIG: kubeconfig };
  }, 1_800_000);

  afterAll(async () => {
    await kindSh("down");
  }, 300_000);

  beforeEach((ctx) => {
    ctx.onTestFailed(async () => {
      const extra = await Promise.all([
        kubectl(["describe", "pods", "-n", NS]).catch(String),
        kubectl(["logs", "-n", NS, "-l", "app.kubernetes.io/component=operator", "--tail=60"]).catch(String),
        kindSh("diagnose").catch(String),
      ]);
      process.stderr.write(
        `\n===== kind diagnostics for "${ctx.task.name}"\n${extra.join("\n")}\n===== end\n`,
      );
    });
  });

  it("installs the operator with the chart in operator mode", async () => {
    await kubectl([
      "apply",
      "--server-side",
      "--force-conflicts",
      "-f",
      "crds/rtcd.mattermost.com_mattermostrtcds.yaml",
    ]);
    await kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/mattermostrtcds.rtcd.mattermost.com",
    ]);
    await helm([
      "upgrade",
      "--install",
      RELEASE,
      "charts/mattermost-rtcd",
      "-n",
      NS,
      "--create-namespace",
      "--wait",
      "--timeout=5m",
      ...["--set", "operator.enabled=true", "--set", "operator.crds.install=false"],
      ...["--set", "operator.customResource=always", "--set", "operator.replicas=1"],
      ...[
        "--set",
        `operator.image.tag=${tag}`,
        "--set",
        `image.tag=${tag}`,
        "--set",
        "configuration.replicas=3",
      ],
    ]);
    const d = JSON.parse(await kubectl(["get", "deployment", `${CR}-operator`, "-n", NS, "-o", "json"])) as {
      status: { availableReplicas?: number };
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(d.status.availableReplicas).toBe(1);
    expect(d.spec.template.spec.containers[0]!.image).toBe(`mattermost-rtcd-operator:${tag}`);
  });

  it("its MattermostRTCD runs our rtcd image and turns Ready, one pod in each zone", async () => {
    await kubectl(
      ["wait", "-n", NS, "--for=condition=Ready", "--timeout=240s", `mattermostrtcd/${CR}`],
      260_000,
    );
    const pods = JSON.parse(
      await kubectl(["get", "pods", "-n", NS, "-l", `app.kubernetes.io/instance=${CR}`, "-o", "json"]),
    ) as {
      items: { spec: { nodeName: string; containers: { image: string }[] }; status: { phase: string } }[];
    };
    expect(pods.items.map((p) => p.status.phase)).toEqual(["Running", "Running", "Running"]);
    expect(new Set(pods.items.map((p) => p.spec.containers[0]!.image))).toEqual(
      new Set([`mattermost-rtcd-mediasoup:${tag}`]),
    );
    const zones = await Promise.all(
      pods.items.map((p) =>
        kubectl([
          "get",
          "node",
          p.spec.nodeName,
          "-o",
          "jsonpath={.metadata.labels.topology\\.kubernetes\\.io/zone}",
        ]),
      ),
    );
    expect(zones.sort()).toEqual(["zone-a", "zone-b", "zone-c"]);
  });

  it("a pod gets rtcd's /version through the Service (DNS, kube-proxy, pod network)", async () => {
    const url = `http://${CR}.${NS}.svc.cluster.local:8045/version`;
    const pod = "version-probe";
    // Run, wait for the pod to end, then read its log: `kubectl run -i --rm`
    // attaches after the container starts, and a curl that has already
    // finished by then left it nothing to print (one CI run got an empty
    // answer from a pod that had succeeded).
    await kubectl([
      ...["run", "-n", NS, pod, `--image=mmrtcd-curl:${tag}`, "--image-pull-policy=IfNotPresent"],
      ...["--restart=Never", "--command", "--"],
      ...["curl", "-fsS", "--retry", "10", "--retry-all-errors", "--max-time", "10", url],
    ]);
    try {
      const phase = await waitFor(
        async () => {
          const p = await kubectl(["get", "-n", NS, "pod", pod, "-o", "jsonpath={.status.phase}"]);
          return p === "Succeeded" || p === "Failed" ? p : undefined;
        },
        { timeoutMs: 180_000, what: `pod ${pod} to end` },
      );
      const out = await kubectl(["logs", "-n", NS, pod]);
      expect(phase, `pod ${pod} ended ${phase}; its log: ${out}`).toBe("Succeeded");
      expect(JSON.parse(out)).toMatchObject({ buildVersion: expect.stringContaining("mmrtcd") });
    } finally {
      await kubectl(["delete", "-n", NS, "pod", pod, "--wait=false", "--ignore-not-found"]);
    }
  });

  it("skaffold build and skaffold run -p kind deploy the chart in operator mode with fresh images; the sample turns Ready", async () => {
    // The chart's rtcd pods above hold the nodes' host ports: remove them first
    // (their operator, still running, finalizes the resource).
    await kubectl(["delete", "-n", NS, `mattermostrtcd/${CR}`, "--wait=true", "--timeout=120s"], 130_000);
    await kubectl(
      ["wait", "-n", NS, "--for=delete", "pod", "-l", `app.kubernetes.io/instance=${CR}`, "--timeout=120s"],
      130_000,
    );
    await tool("bash", [join(root, "e2e/kind/kind.sh"), "base"]);
    await buildBins("skaffold");
    // Its own directory: skaffold does not create the output file's parent
    // (a fresh clone has no .tmp yet).
    const built = join(mkdtempSync(join(tmpdir(), "skaffold-build-")), "build.json");
    await skaffold(["build", "--file-output", built]);
    const { builds } = JSON.parse(readFileSync(built, "utf8")) as {
      builds: { imageName: string; tag: string }[];
    };
    const rtcdTag = builds.find((b) => b.imageName === "mattermost-rtcd-mediasoup")!.tag;
    await skaffold(["run", "--status-check=true"]);
    await kubectl(
      [
        "wait",
        "-n",
        "mattermost-rtcd",
        "--for=condition=Ready",
        "--timeout=240s",
        "mattermostrtcd/mattermost-rtcd",
      ],
      260_000,
    );
    const images = await kubectl([
      ...[
        "get",
        "pods",
        "-n",
        "mattermost-rtcd",
        "-l",
        "app.kubernetes.io/instance=mattermost-rtcd,app.kubernetes.io/component!=operator",
      ],
      ...["-o", "jsonpath={.items[*].spec.containers[0].image}"],
    ]);
    expect(new Set(images.split(" "))).toEqual(new Set([rtcdTag]));
    // Up to 8 minutes of it may be waiting for skaffold's first build.
  }, 1_200_000);
});
