// Where prometheus and promtool are: the ones e2e/cluster/build-bins.sh
// builds into the cache, keyed by e2e/cluster/versions.env's
// PROMETHEUS_VERSION. A missing binary is an error that says how to build it,
// never a skipped test.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const repoRoot = join(import.meta.dirname, "../../..");

export function prometheusVersion(): string {
  if (process.env["PROMETHEUS_VERSION"]) return process.env["PROMETHEUS_VERSION"];
  const env = readFileSync(join(repoRoot, "e2e/cluster/versions.env"), "utf8");
  const m = /^PROMETHEUS_VERSION=\$\{PROMETHEUS_VERSION:-([^}]+)\}/m.exec(env);
  if (!m?.[1]) throw new Error("PROMETHEUS_VERSION not found in e2e/cluster/versions.env");
  return m[1];
}

function cacheDir(): string {
  return (
    process.env["MMRTCD_CACHE_DIR"] ??
    join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "mattermost-rtcd")
  );
}

export function prometheusBin(name: "prometheus" | "promtool"): string {
  const path = join(cacheDir(), `prometheus-${prometheusVersion()}`, name);
  if (!existsSync(path)) {
    throw new Error(
      `${name} not found at ${path}: build it with \`bash e2e/cluster/build-bins.sh prometheus\``,
    );
  }
  return path;
}
