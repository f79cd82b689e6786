// Where the e2e suite's cluster comes from. The suite is the same on every
// provider; only this file knows how to get a cluster:
//
//   E2E_PROVIDER=local     (default) the local cluster from real binaries and
//                          kwok nodes (e2e/cluster), started when needed;
//   E2E_PROVIDER=kind      a kind cluster of a control plane and 3 zoned
//                          workers (e2e/kind/cluster.yaml), made by
//                          e2e/kind/kind.sh with our buildah-built images;
//   E2E_PROVIDER=existing  the cluster of the current KUBECONFIG context.
//
// E2E_KUBECONFIG=<file> is kept as a shorthand for E2E_PROVIDER=existing with
// that kubeconfig.
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { toolPath, up, type ClusterInfo } from "../../cluster/index.ts";

export type ProviderName = "local" | "kind" | "existing";

const PROVIDERS: readonly ProviderName[] = ["local", "kind", "existing"];
export const repoRoot = join(import.meta.dirname, "../../..");
export const kindConfigFile = join(repoRoot, "e2e/kind/cluster.yaml");

/** The provider the environment asks for; throws on an unknown name. */
export function providerName(env: NodeJS.ProcessEnv = process.env): ProviderName {
  const raw = env["E2E_PROVIDER"]?.trim();
  if (!raw) return env["E2E_KUBECONFIG"] ? "existing" : "local";
  if (!(PROVIDERS as readonly string[]).includes(raw)) {
    throw new Error(`E2E_PROVIDER=${raw} is not one of ${PROVIDERS.join(", ")}`);
  }
  return raw as ProviderName;
}

/** Images the kind provider builds and loads; tests may point MattermostRTCDs at rtcd's. */
export interface SuiteImages {
  operator: string;
  rtcd: string;
}

export function kindImages(env: NodeJS.ProcessEnv = process.env): SuiteImages {
  const tag = env["E2E_IMAGE_TAG"] ?? "e2e";
  return { operator: `mattermost-rtcd-operator:${tag}`, rtcd: `mattermost-rtcd-mediasoup:${tag}` };
}

const log = (msg: string) => process.stderr.write(`[e2e:${providerName()}] ${msg}\n`);

/** kubectl and helm: the ones the local cluster's build cached, else whatever PATH has. */
function toolsPathEnv(): string {
  const dirs = [toolPath("kubectl"), toolPath("helm")].filter((p) => existsSync(p)).map((p) => dirname(p));
  return [...dirs, process.env["PATH"] ?? ""].join(delimiter);
}

function infoFor(kubeconfig: string, server: string): ClusterInfo {
  return { kubeconfig, server, local: false, env: { KUBECONFIG: kubeconfig, PATH: toolsPathEnv() } };
}

/** Is `tool` an executable on PATH (the cached kubectl and helm included)? Runs nothing. */
function onPath(tool: string): boolean {
  return toolsPathEnv()
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(join(dir, tool), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

function run(
  tool: string,
  args: string[],
  opts: { inherit?: boolean; env?: NodeJS.ProcessEnv } = {},
): string {
  try {
    return execFileSync(tool, args, {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, PATH: toolsPathEnv(), ...opts.env },
      stdio: opts.inherit ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    }) as string;
  } catch (err) {
    const e = err as { stderr?: string };
    throw new Error(`${tool} ${args.join(" ")} failed${e.stderr ? `: ${e.stderr}` : ""}`, { cause: err });
  }
}

/** The current context of KUBECONFIG (or E2E_KUBECONFIG), flattened into one self-contained file. */
function existing(): ClusterInfo {
  const named = process.env["E2E_KUBECONFIG"];
  if (named && !existsSync(named)) throw new Error(`E2E_KUBECONFIG=${named} does not exist`);
  const source = named ?? process.env["KUBECONFIG"] ?? join(homedir(), ".kube", "config");
  if (!source.split(delimiter).some((f) => existsSync(f))) {
    throw new Error(
      `E2E_PROVIDER=existing: no kubeconfig at ${source}; set KUBECONFIG (or E2E_KUBECONFIG) to your cluster's`,
    );
  }
  if (!onPath("kubectl")) throw new Error("E2E_PROVIDER=existing needs kubectl on PATH");
  const out = join(tmpdir(), `mattermost-rtcd-e2e-${process.getuid?.() ?? 0}`, "existing.kubeconfig");
  mkdirSync(dirname(out), { recursive: true });
  const flat = run("kubectl", ["config", "view", "--flatten", "--minify", "--raw"], {
    env: { KUBECONFIG: source },
  });
  writeFileSync(out, flat, { mode: 0o600 });
  const server = run(
    "kubectl",
    ["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"],
    {
      env: { KUBECONFIG: out },
    },
  );
  return infoFor(out, server);
}

export function kindClusterName(env: NodeJS.ProcessEnv = process.env): string {
  return env["E2E_KIND_CLUSTER"] ?? "mattermost-rtcd-e2e";
}

/**
 * What the kind provider needs before e2e/kind/kind.sh can do the rest
 * (install and start docker, build kind, kubectl, helm and the node image),
 * with the message to give when it is missing.
 */
export function kindPrerequisites(has: (tool: string) => boolean = onPath): string[] {
  const missing: string[] = [];
  if (!has("docker") && !has("apt-get")) {
    missing.push("docker, or apt-get to install Debian's docker.io (e2e/kind/docker-host.sh)");
  }
  if (!has("go")) {
    missing.push(
      "go: kind, kubectl and helm are built from the Go module proxy (e2e/cluster/build-bins.sh kind)",
    );
  }
  if (!has("buildah")) missing.push("buildah: our images are built by e2e/images/build-images.sh");
  return missing;
}

/** Where e2e/kind/kind.sh writes the cluster's kubeconfig (never ~/.kube/config). */
function kindKubeconfig(name: string): string {
  return join(tmpdir(), `mattermost-rtcd-e2e-${process.getuid?.() ?? 0}`, `kind-${name}.kubeconfig`);
}

/**
 * The kind cluster of e2e/kind/kind.sh (docker, the offline node image or
 * E2E_KIND_NODE_IMAGE, e2e/kind/cluster.yaml, our buildah-built images
 * loaded), created when absent. Only the global setup prepares; test workers
 * attach to the cluster it made. `bash e2e/kind/kind.sh down` deletes it.
 */
function kind(prepare: boolean): ClusterInfo {
  const name = kindClusterName();
  let kubeconfig = kindKubeconfig(name);
  if (prepare) {
    const missing = kindPrerequisites();
    if (missing.length) {
      throw new Error(
        `E2E_PROVIDER=kind cannot run on this machine; missing:\n  - ${missing.join("\n  - ")}`,
      );
    }
    log(`kind cluster ${name}: e2e/kind/kind.sh up`);
    const out = execFileSync("bash", [join(repoRoot, "e2e/kind/kind.sh"), "up"], {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    kubeconfig = out.trim().split("\n").pop() ?? kubeconfig;
  } else if (!existsSync(kubeconfig)) {
    throw new Error(`kind cluster ${name} has no kubeconfig at ${kubeconfig} (the global setup creates it)`);
  }
  const server = run(
    "kubectl",
    ["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"],
    { env: { KUBECONFIG: kubeconfig } },
  );
  return infoFor(kubeconfig, server);
}

/**
 * The cluster for this run. `prepare` (the global setup) may create clusters
 * and build images; without it (test files) an existing one is attached to.
 */
export async function providerCluster(prepare = false): Promise<ClusterInfo> {
  switch (providerName()) {
    case "local":
      return up();
    case "kind":
      return kind(prepare);
    case "existing":
      return existing();
  }
}
