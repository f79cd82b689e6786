import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const chartDir = join(repoRoot, "charts/mattermost-rtcd");
export const seedValuesFile = join(repoRoot, "e2e/test/chart/fixtures/seed-values.yaml");

/** The release version, the root package.json's (the chart's appVersion follows it: scripts/release/versions.ts). */
export const releaseVersion = (
  JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }
).version;
