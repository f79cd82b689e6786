// Vitest global setup for the integration and e2e tiers: get the cluster up
// once before any file runs, so the first test file does not pay for it inside
// its own timeout. The cluster is left running for the next run (CI stops it).
import { ensureCluster } from "../../cluster/index.ts";

export default async function setup(): Promise<void> {
  const t0 = Date.now();
  const c = await ensureCluster();
  process.stderr.write(
    `[global-setup] cluster ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (KUBECONFIG=${c.kubeconfig})\n`,
  );
}
