// The MattermostRTCD CRD on the test cluster: every operator integration and
// e2e test needs it applied and Established before it creates a resource.
import { join } from "node:path";
import { beforeAll } from "vitest";
import { getJson, kubectl, useCluster } from "./kube.ts";
import { repoRoot } from "./providers.ts";
import { waitFor } from "./wait.ts";

export const CRD_FILE = join(repoRoot, "crds/rtcd.mattermost.com_mattermostrtcds.yaml");

/** Applies the generated CRD and waits until the API server serves it. */
export async function applyCrd(): Promise<void> {
  await useCluster();
  await kubectl(["apply", "--server-side", "--force-conflicts", "-f", CRD_FILE]);
  // Polled rather than `kubectl wait`: on a CRD the API server has not yet
  // given a status, kubectl wait fails at once (status.conditions is null)
  // instead of waiting, which failed a test on a fresh cluster.
  await waitFor(
    async () => {
      const crd = await getJson<{ status?: { conditions?: { type: string; status: string }[] | null } }>([
        "get",
        "crd/mattermostrtcds.rtcd.mattermost.com",
      ]);
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    },
    { timeoutMs: 60_000, intervalMs: 200, what: "the MattermostRTCD CRD Established" },
  );
}

/** applyCrd before the calling file's tests. */
export function installCrd(): void {
  beforeAll(applyCrd);
}
