// The two ways platform teams install the CRDs without Helm, with the real
// kubectl against the real API server: `kubectl apply -f crds/` (every file in
// the folder) and `kubectl apply -k operator/config/default` (the kustomize
// overlay, which takes crds/ as a base).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tryKubectl, useCluster } from "@mattermost-rtcd/e2e/testing";

const root = join(import.meta.dirname, "../..");
const CRD = "customresourcedefinition.apiextensions.k8s.io/mattermostrtcds.rtcd.mattermost.com";

describe("installing the CRDs", () => {
  it("kubectl apply -f crds/ succeeds and applies the CRD", async () => {
    await useCluster();
    const r = await tryKubectl(["apply", "--dry-run=server", "-f", join(root, "crds")]);
    // (A warning that the CRD, applied server-side by other tests, lacks
    // kubectl's last-applied annotation is fine; an error is not.)
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.ok).toBe(true);
    expect(r.stdout.trim().split("\n")).toEqual([expect.stringContaining(CRD)]);
  });

  it("kubectl apply -k operator/config/default still includes the CRD", async () => {
    await useCluster();
    const r = await tryKubectl([
      "apply",
      "--dry-run=client",
      "-o",
      "name",
      "-k",
      join(root, "operator/config/default"),
    ]);
    expect(r.stderr).toBe("");
    expect(r.ok).toBe(true);
    const names = r.stdout.trim().split("\n");
    expect(names).toContain(CRD);
    expect(names).toEqual(
      expect.arrayContaining([
        "namespace/mattermost-rtcd-operator",
        "serviceaccount/mattermost-rtcd-operator",
        "deployment.apps/mattermost-rtcd-operator",
      ]),
    );
  });
});
