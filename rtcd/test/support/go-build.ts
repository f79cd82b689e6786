// Builds, once per version and cached outside the repository, the real rtcd
// v1.2.6 binary and the Go contract runner, both from rtcd/contract (the
// wrapper module that repeats rtcd's two replace directives).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const RTCD_VERSION = "v1.2.6";
// The tag's commit, stamped like rtcd's own Makefile does.
const RTCD_COMMIT = "b3dee597998db880193b2fe863752cbfae8cdc89";
export const CONTRACT_DIR = join(import.meta.dirname, "..", "..", "contract");

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env["MMRTCD_CACHE_DIR"]) return env["MMRTCD_CACHE_DIR"];
  const base = env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(base, "mattermost-rtcd");
}

/**
 * The environment of a go build: the committed go.sum is the truth (never
 * rewritten in a test), and the compiler's own GC runs less often, which
 * took a sixth off a cold build's CPU (e2e/cluster/build-bins.sh says the
 * same and how it was measured). For builds only: the binaries built run
 * with Go's default GOGC.
 */
export const GO_BUILD_ENV = {
  GOFLAGS: "-mod=readonly -buildvcs=false",
  GOGC: process.env["MMRTCD_GO_BUILD_GOGC"] ?? "400",
};

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...GO_BUILD_ENV },
    });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} failed (${code}):\n${out}`)),
    );
  });
}

// Builds into a temporary name and renames, so a killed build never leaves
// a half-written binary in the cache.
async function cached(path: string, build: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(path)) return path;
  mkdirSync(join(path, ".."), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await build(tmp);
  renameSync(tmp, path);
  return path;
}

export function realRtcdPath(): string {
  return join(cacheRoot(), `rtcd-${RTCD_VERSION}`, "rtcd");
}

export async function buildRealRtcd(): Promise<string> {
  const gomod = readFileSync(join(CONTRACT_DIR, "go.mod"), "utf8");
  if (!gomod.includes(`github.com/mattermost/rtcd ${RTCD_VERSION}`))
    throw new Error(`rtcd/contract/go.mod does not require rtcd ${RTCD_VERSION}`);
  const ldflags = [
    `-X github.com/mattermost/rtcd/service.buildVersion=${RTCD_VERSION}`,
    `-X github.com/mattermost/rtcd/service.buildHash=${RTCD_COMMIT}`,
  ].join(" ");
  return cached(realRtcdPath(), (tmp) =>
    run(
      "go",
      ["build", "-trimpath", "-ldflags", ldflags, "-o", tmp, "github.com/mattermost/rtcd/cmd/rtcd"],
      CONTRACT_DIR,
    ),
  );
}

/** A hash of a Go module's sources, go.mod and go.sum: editing any of them rebuilds. */
export function goModuleHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of readdirSync(dir).sort()) {
    if (!(f.endsWith(".go") || f === "go.mod" || f === "go.sum")) continue;
    h.update(f)
      .update("\0")
      .update(readFileSync(join(dir, f)))
      .update("\0");
  }
  return h.digest("hex").slice(0, 16);
}

/** Builds the Go module in `dir` once per source hash, cached as `<cache>/<prefix>-<hash>/<binary>`. */
export function buildGoModule(dir: string, prefix: string, binary: string): Promise<string> {
  const path = join(cacheRoot(), `${prefix}-${goModuleHash(dir)}`, binary);
  return cached(path, (tmp) => run("go", ["build", "-trimpath", "-o", tmp, "."], dir));
}

export function buildContractRunner(): Promise<string> {
  return buildGoModule(CONTRACT_DIR, "rtcd-contract", "contract");
}
