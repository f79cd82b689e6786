// The MattermostRTCD CRD on the test cluster: every operator integration and
// e2e test needs it applied and Established before it creates a resource.
import { join } from "node:path";
import { beforeAll } from "vitest";
import { kubectl, useCluster } from "./kube.ts";
import { repoRoot } from "./providers.ts";

export const CRD_FILE = join(repoRoot, "crds/rtcd.mattermost.com_mattermostrtcds.yaml");

/** Applies the generated CRD and waits until the API server serves it. */
export async function applyCrd(): Promise<void> {
  await useCluster();
  await kubectl(["apply", "--server-side", "--force-conflicts", "-f", CRD_FILE]);
  await kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/mattermostrtcds.rtcd.mattermost.com",
  ]);
}

/** applyCrd before the calling file's tests. */
export function installCrd(): void {
  beforeAll(applyCrd);
}
