// The real-node cluster's OCI registry: the CNCF distribution registry (built
// by build-bins.sh) on the host's veth address, where the real nodes reach it
// from their network namespaces. Images are pushed to it and the nodes'
// containerd pulls from it, as a user's cluster pulls from theirs; the chart
// is pushed there as an OCI artifact. Plain HTTP: the /24 is private to this
// cluster (only the host and its nodes are on it), and containerd is told so
// per registry host (hosts.toml), not by a machine-wide setting.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { ports } from "./control-plane.ts";
import { cacheDir, clusterDir, versions } from "./paths.ts";
import { hostIp } from "./real-node/names.ts";
import { isOurs, sleep, startDetached, tail, type ProcRecord } from "./processes.ts";

/** The registry's repository for each image build-images.sh builds. */
export const REGISTRY_REPOS = {
  pause: "mmrtcd-pause",
  rtcd: "mattermost-rtcd-mediasoup",
  operator: "mattermost-rtcd-operator",
  curl: "mmrtcd-curl",
} as const;
export type ImageName = keyof typeof REGISTRY_REPOS;

/** The tag every pushed image gets; references also carry the digest, which is what pins them. */
export const LOCAL_TAG = "local";

export interface PushedImage {
  /** `<registry>/<repo>`: the chart's and the MattermostRTCD's image.repository. */
  repository: string;
  /** `local@sha256:…`: readable, and pinned by the digest (containerd pulls by the digest). */
  tag: string;
  digest: string;
  /** The image tar it was pushed from (build-images.sh names tars by their inputs' hash). */
  tar?: string;
}

/** `host:port` of the cluster's registry: the host's veth address, a port from the cluster's port base. */
export function registryAddress(state: string, env: NodeJS.ProcessEnv = process.env): string {
  return `${hostIp(state, env)}:${ports().registry}`;
}

/** The distribution registry's configuration: filesystem storage in the cluster's state, plain HTTP. */
export function registryConfig(dataDir: string, addr: string): string {
  return stringify({
    version: 0.1,
    log: { level: "info", formatter: "json", fields: { service: "registry" } },
    storage: {
      filesystem: { rootdirectory: dataDir },
      // A retagged or repushed image replaces the old one; nothing else is kept.
      delete: { enabled: true },
    },
    http: { addr },
  });
}

/**
 * containerd's host configuration for the registry (config_path/<host>/hosts.toml):
 * pull and resolve over plain HTTP from exactly this host.
 */
export function hostsToml(addr: string): string {
  return `server = "http://${addr}"

[host."http://${addr}"]
  capabilities = ["pull", "resolve"]
`;
}

/** Writes `<dir>/<addr>/hosts.toml`; `dir` is containerd's registry config_path. */
export function writeHostsToml(dir: string, addr: string): void {
  mkdirSync(join(dir, addr), { recursive: true });
  writeFileSync(join(dir, addr, "hosts.toml"), hostsToml(addr));
}

export function registryBinary(): string {
  return join(cacheDir(), `registry-${versions().REGISTRY_VERSION}`, "registry");
}

async function answers(addr: string): Promise<boolean> {
  try {
    return (await fetch(`http://${addr}/v2/`)).status === 200;
  } catch {
    return false;
  }
}

/** Starts the registry (its data and config under the state dir) and waits until /v2/ answers. */
export async function startRegistry(state: string, logFile: string): Promise<ProcRecord> {
  const addr = registryAddress(state);
  const dir = join(state, "registry");
  mkdirSync(join(dir, "data"), { recursive: true });
  const cfg = join(dir, "config.yml");
  writeFileSync(cfg, registryConfig(join(dir, "data"), addr));
  const rec = startDetached("registry", registryBinary(), ["serve", cfg], logFile, `http://${addr}`);
  const deadline = Date.now() + 30_000;
  while (!(await answers(addr))) {
    if (!isOurs(rec))
      throw new Error(`the registry exited while starting; last lines of ${logFile}:\n${tail(logFile)}`);
    if (Date.now() > deadline)
      throw new Error(`the registry did not answer on ${addr} in 30s:\n${tail(logFile)}`);
    await sleep(200);
  }
  return rec;
}

function imagesFile(state: string): string {
  return join(state, "real-node", "images.json");
}

/** Pushes the built image tars to the registry (buildah, from build-images.sh's storage); records them by digest. */
export function pushImages(
  state: string,
  tars: Partial<Record<ImageName, string>>,
): Record<string, PushedImage> {
  const addr = registryAddress(state);
  const out: Record<string, PushedImage> = {};
  for (const [name, tar] of Object.entries(tars) as [ImageName, string][]) {
    const repository = `${addr}/${REGISTRY_REPOS[name]}`;
    const r = spawnSync(
      "bash",
      [join(clusterDir, "..", "images", "push-image.sh"), tar, `${repository}:${LOCAL_TAG}`],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const digest = r.stdout.trim();
    if (r.status !== 0 || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new Error(`pushing ${tar} to ${repository} failed (exit ${r.status}): ${r.stderr}${r.stdout}`);
    }
    out[name] = { repository, tag: `${LOCAL_TAG}@${digest}`, digest, tar };
  }
  writeFileSync(imagesFile(state), JSON.stringify(out, null, 2) + "\n");
  return out;
}

/** The images whose tar differs from the one last pushed (a changed input since), or that were never pushed. */
export function stalePushes(state: string, tars: Partial<Record<ImageName, string>>): ImageName[] {
  const f = imagesFile(state);
  const all = existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as Record<string, PushedImage>) : {};
  return (Object.entries(tars) as [ImageName, string][])
    .filter(([n, tar]) => all[n]?.tar !== tar)
    .map(([n]) => n);
}

/** What `pushImages` pushed to the running cluster's registry. */
export function pushedImage(state: string, name: ImageName): PushedImage {
  const f = imagesFile(state);
  const all = existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as Record<string, PushedImage>) : {};
  const img = all[name];
  if (!img) throw new Error(`no ${name} image in the cluster's registry (${f}); start real nodes first`);
  return img;
}

const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/**
 * A second tag for a pushed image (a "new version" for rollouts), set the way
 * any registry client does: the manifest, fetched by digest, put under the
 * tag. `img.tag` is `<tag>@<digest>` as `pushImages` records it.
 */
export async function tagInRegistry(
  img: { repository: string; tag: string },
  tag: string,
): Promise<PushedImage> {
  const digest = img.tag.split("@")[1];
  if (!digest) throw new Error(`${img.repository}:${img.tag} is not pinned by a digest`);
  const slash = img.repository.indexOf("/");
  const [addr, repo] = [img.repository.slice(0, slash), img.repository.slice(slash + 1)];
  const get = await fetch(`http://${addr}/v2/${repo}/manifests/${digest}`, {
    headers: { Accept: MANIFEST_TYPES },
  });
  if (!get.ok) throw new Error(`GET manifest ${img.repository}@${digest}: ${get.status} ${await get.text()}`);
  const type = get.headers.get("content-type") ?? "application/vnd.oci.image.manifest.v1+json";
  const put = await fetch(`http://${addr}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { "Content-Type": type },
    body: Buffer.from(await get.arrayBuffer()),
  });
  if (put.status !== 201)
    throw new Error(`PUT manifest ${img.repository}:${tag}: ${put.status} ${await put.text()}`);
  return { repository: img.repository, tag: `${tag}@${digest}`, digest };
}
