// The one version source is the root package.json's `version`. Everything a
// user can read a version from must agree with it: the workspaces' package.json
// (the operator's `rtcd-operator version` and rtcd's /version read theirs),
// the chart's appVersion (its default image tags) and the images' labels
// (build-images.sh reads the root file; the Dockerfiles check it against the
// workspace's), and the kustomization's operator image tag. `npm version <v>
// --workspaces --include-workspace-root` bumps the package files together; the
// chart's appVersion and the kustomization's newTag are hand edits.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const repoRoot = join(import.meta.dirname, "..", "..");
// The operator image the kustomization installs (`kubectl apply -k operator/config/default`).
const KUSTOMIZATION = "operator/config/manager/kustomization.yaml";

function packageVersion(root: string, dir: string): string {
  return (JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as { version: string }).version;
}

/** The release version: root package.json. */
export function releaseVersion(root = repoRoot): string {
  return packageVersion(root, ".");
}

/** Every place that states the version, by name. */
export function statedVersions(root = repoRoot): Record<string, string> {
  const kustomization = parse(readFileSync(join(root, KUSTOMIZATION), "utf8")) as {
    images: { name: string; newTag?: string }[];
  };
  const operatorImage = kustomization.images.find((i) => i.name === "mattermost-rtcd-operator");
  const chart = parse(readFileSync(join(root, "charts/mattermost-rtcd/Chart.yaml"), "utf8")) as {
    appVersion: string;
  };
  return {
    "package.json": packageVersion(root, "."),
    "operator/package.json": packageVersion(root, "operator"),
    "rtcd/package.json": packageVersion(root, "rtcd"),
    "e2e/package.json": packageVersion(root, "e2e"),
    "charts/mattermost-rtcd/Chart.yaml appVersion": String(chart.appVersion),
    [`${KUSTOMIZATION} newTag`]: String(operatorImage?.newTag),
  };
}

/** The places that disagree with the root package.json, as readable lines. */
export function versionMismatches(root = repoRoot): string[] {
  const want = releaseVersion(root);
  return Object.entries(statedVersions(root))
    .filter(([, v]) => v !== want)
    .map(([where, v]) => `${where} says ${v}, package.json says ${want}`);
}

/** A tag or argument ("v0.1.0" or "0.1.0") as the bare semver the files use. */
export function bareVersion(v: string): string {
  return v.replace(/^v/, "");
}
