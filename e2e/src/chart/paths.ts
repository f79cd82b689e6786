import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const chartDir = join(repoRoot, "charts/mattermost-rtcd");
export const seedValuesFile = join(repoRoot, "e2e/test/chart/fixtures/seed-values.yaml");
