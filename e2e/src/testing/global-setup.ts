// Vitest global setup for the integration and e2e tiers: get the cluster up
// once before any file runs, so the first test file does not pay for it inside
// its own timeout (the kind provider also builds and loads the images here).
// The cluster is left running for the next run (CI stops it).
import { providerCluster, providerName } from "./providers.ts";

export default async function setup(): Promise<void> {
  const t0 = Date.now();
  const c = await providerCluster(true);
  process.stderr.write(
    `[global-setup] ${providerName()} cluster ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (KUBECONFIG=${c.kubeconfig})\n`,
  );
}
