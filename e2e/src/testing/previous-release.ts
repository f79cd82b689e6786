// The release before this one, as its users have it: its chart and images,
// built from the commit e2e/previous-release.json names by that commit's own
// release script (`npm run release`, the step the release workflow runs) and
// pushed to the cluster's registry. The upgrade e2e installs it, then
// upgrades to the working tree.
//
// Built outside the repository, in the cache, keyed by the commit: its
// sources (a clone of this repository at that commit, so the commit must be
// in this clone's history), its
// node_modules, and an image cache of its own. The image cache is separate
// because build-images.sh keeps one tar per image name and removes the others:
// sharing one would make the working tree's images and the release's evict
// each other, and every run rebuild both. Its mediasoup worker is its own too:
// built on this host by that commit's recipe (build-worker.sh, stand-ins and
// patches, which differ from this version's), so its image build takes it as
// a prebuilt binary instead of compiling the worker inside the image build;
// with ccache installed (meson uses it by itself, as CI's does) only the
// sources the two recipes' patches change compile again. Everything else in
// the cache (Go binaries, the Debian root filesystem, the base image) is
// shared by symbolic links.
import { execFile } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { join } from "node:path";
import { cacheDir, stateDir } from "../../cluster/paths.ts";
import { registryAddress } from "../../cluster/registry.ts";
import { useCluster } from "./kube.ts";
import { repoRoot } from "./providers.ts";

export interface PreviousReleaseRecord {
  version: string;
  commit: string;
  /** The commit's tree: finds the release if its commit was rewritten (a rebase keeps the content). */
  tree: string;
  tag: string;
}

export interface ReleasedImage {
  repository: string;
  /** `<version>@sha256:…`: the chart and the operator join repository and tag with `:`. */
  tag: string;
}

export interface PreviousRelease extends PreviousReleaseRecord {
  /** The release's source tree (its CRD, kustomization, chart). */
  src: string;
  chart: { ref: string; version: string };
  images: { rtcd: ReleasedImage; operator: ReleasedImage };
}

export function previousReleaseRecord(): PreviousReleaseRecord {
  return JSON.parse(
    readFileSync(join(repoRoot, "e2e/previous-release.json"), "utf8"),
  ) as PreviousReleaseRecord;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err
          ? reject(
              new Error(`${cmd} ${args.join(" ")} (in ${opts.cwd}): ${err.message}\n${stderr.slice(-4000)}`),
            )
          : resolve(stdout),
    );
  });
}

/** The release's commit in this clone: by its hash, else by its tree, fetching a shallow clone's history first. */
async function findCommit(rec: PreviousReleaseRecord): Promise<string> {
  const find = async () => {
    const exists = await run("git", ["cat-file", "-e", `${rec.commit}^{commit}`], { cwd: repoRoot }).then(
      () => true,
      () => false,
    );
    if (exists) return rec.commit;
    const log = await run("git", ["log", "--all", "--format=%H %T"], { cwd: repoRoot });
    return log
      .split("\n")
      .find((l) => l.endsWith(` ${rec.tree}`))
      ?.split(" ")[0];
  };
  let found = await find();
  if (!found) {
    // A shallow clone (CI systems make them): fetch the history from its origin.
    const shallow = await run("git", ["rev-parse", "--is-shallow-repository"], { cwd: repoRoot });
    if (shallow.trim() === "true") {
      await run("git", ["fetch", "-q", "--unshallow"], { cwd: repoRoot }).catch(() => "");
      found = await find();
    }
  }
  if (!found) {
    throw new Error(
      `release ${rec.version} (commit ${rec.commit}, tree ${rec.tree}) is not in this clone's history: ` +
        `clone the repository with its history`,
    );
  }
  return found;
}

/** The commit's files in `dir`, once (a finished tree is marked by its package.json). */
async function sources(rec: PreviousReleaseRecord, dir: string): Promise<void> {
  if (existsSync(join(dir, "package.json"))) return;
  const commit = await findCommit(rec);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(dir, ".."), { recursive: true });
  // A clone, not an archive: the image build names its inputs with git, and
  // the images' revision label is the commit, as in the release workflow.
  await run("git", ["clone", "-q", "--no-checkout", repoRoot, tmp], { cwd: repoRoot });
  await run("git", ["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit], {
    cwd: tmp,
  });
  renameSync(tmp, dir);
}

/** A cache for the release's build: the shared one by links, its own image tars and buildah storage. */
function releaseCache(own: string): string {
  const shared = cacheDir();
  const images = join(own, "images");
  mkdirSync(images, { recursive: true });
  for (const entry of readdirSync(shared)) {
    if (entry.startsWith("mediasoup-worker-")) {
      // A link left by an earlier version of this file: the release's worker
      // build would overwrite this version's worker through it.
      const path = join(own, entry);
      if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) unlinkSync(path);
      continue;
    }
    if (entry === "images" || entry === "previous-release" || existsSync(join(own, entry))) continue;
    symlinkSync(join(shared, entry), join(own, entry));
  }
  // The Debian root filesystem and the base image: same recipe, same bytes.
  const sharedImages = join(shared, "images");
  if (existsSync(sharedImages)) {
    for (const entry of readdirSync(sharedImages)) {
      if ((entry === "rootfs-bookworm" || /^base-.*\.tar$/.test(entry)) && !existsSync(join(images, entry))) {
        symlinkSync(join(sharedImages, entry), join(images, entry));
      }
    }
  }
  return own;
}

let built: Promise<PreviousRelease> | undefined;

/**
 * The previous release's chart and images in the cluster's registry, pushed
 * by its own release script; once per test file. A cold cache builds its two
 * images (several minutes); a warm one only pushes.
 */
export function previousRelease(): Promise<PreviousRelease> {
  built ??= (async () => {
    const rec = previousReleaseRecord();
    const c = await useCluster();
    const home = join(cacheDir(), "previous-release", `${rec.version}-${rec.commit.slice(0, 12)}`);
    const src = join(home, "src");
    await sources(rec, src);
    if (!existsSync(join(src, "node_modules", ".bin", "node"))) {
      await run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: src });
    }
    const registry = registryAddress(stateDir());
    const env = { ...c.env, MMRTCD_CACHE_DIR: releaseCache(join(home, "cache")) };
    // Cached after the first run; the release's image build then finds it.
    await run("bash", [join(src, "rtcd", "worker-build", "build-worker.sh")], { cwd: src, env });
    // Its own Node 24 (the `node` devDependency), as `npm run release` there would use.
    await run(
      join(src, "node_modules", ".bin", "node"),
      ["scripts/release.ts", "--registry", registry, "--version", rec.version, "--plain-http"],
      { cwd: src, env },
    );
    const pushed = JSON.parse(readFileSync(join(src, ".tmp", "release", "release.json"), "utf8")) as Record<
      string,
      { ref: string; digest: string }
    >;
    const image = (name: string): ReleasedImage => {
      const p = pushed[name];
      if (!p) throw new Error(`release ${rec.version} pushed no ${name} (${Object.keys(pushed).join(", ")})`);
      return { repository: p.ref.replace(/:[^:/]+$/, ""), tag: `${rec.version}@${p.digest}` };
    };
    return {
      ...rec,
      src,
      chart: { ref: `oci://${registry}/charts/mattermost-rtcd`, version: rec.version },
      images: { rtcd: image("mattermost-rtcd-mediasoup"), operator: image("mattermost-rtcd-operator") },
    };
  })();
  return built;
}
