// Where the helm binary is: $HELM_BIN, else the one the cluster tool builds
// into the cache, keyed by e2e/cluster/versions.env's HELM_VERSION.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./paths.ts";

export function helmVersion(): string {
  if (process.env["HELM_VERSION"]) return process.env["HELM_VERSION"];
  const env = readFileSync(join(repoRoot, "e2e/cluster/versions.env"), "utf8");
  const m = /^HELM_VERSION=\$\{HELM_VERSION:-([^}]+)\}/m.exec(env) ?? /^HELM_VERSION=(\S+)/m.exec(env);
  if (!m?.[1]) throw new Error("HELM_VERSION not found in e2e/cluster/versions.env");
  return m[1];
}

export function cacheDir(): string {
  return (
    process.env["MMRTCD_CACHE_DIR"] ??
    join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "mattermost-rtcd")
  );
}

export function helmBin(): string {
  const explicit = process.env["HELM_BIN"];
  if (explicit) return explicit;
  const path = join(cacheDir(), `helm-${helmVersion()}`, "helm");
  if (!existsSync(path)) {
    throw new Error(`helm not found at ${path}: build it with \`npm run cluster -- build\` or set HELM_BIN`);
  }
  return path;
}
