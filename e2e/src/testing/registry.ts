// The real-node cluster's OCI registry as the e2e uses it, the way a user
// would: the chart pushed there by the release script and installed from
// oci://, images referenced by digest, and kubelet's own events as the proof
// that a pod's image was pulled from the registry.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  pushedImage,
  registryAddress,
  tagInRegistry,
  type ImageName,
  type PushedImage,
} from "../../cluster/registry.ts";
import { stateDir } from "../../cluster/paths.ts";
import { getJson, useCluster } from "./kube.ts";
import { repoRoot } from "./providers.ts";

export { tagInRegistry, type ImageName, type PushedImage };

export type PullPolicy = "Always" | "IfNotPresent" | "Never";

/** Chart or MattermostRTCD image values for an image in the cluster's registry: `<registry>/<repo>`, `local@sha256:…`. */
export function registryImage(
  name: ImageName,
  pullPolicy: PullPolicy = "IfNotPresent",
): { repository: string; tag: string; pullPolicy: PullPolicy } {
  const { repository, tag } = pushedImage(stateDir(), name);
  return { repository, tag, pullPolicy };
}

export interface OciChart {
  /** `oci://<registry>/charts/mattermost-rtcd`: what `helm upgrade --install NAME` takes. */
  ref: string;
  /** `--version`: the release version (package.json), which the release script packages the chart as. */
  version: string;
}

let pushed: Promise<OciChart> | undefined;

/**
 * The working tree's chart as an OCI artifact in the cluster's registry,
 * pushed once per test file by `npm run release -- --step chart` (the step
 * the release workflow runs against the public registry).
 */
export function registryChart(): Promise<OciChart> {
  pushed ??= (async () => {
    const c = await useCluster();
    const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string })
      .version;
    const registry = registryAddress(stateDir());
    const args = ["scripts/release.ts", "--registry", registry, "--version", version, "--step", "chart"];
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        [...args, "--plain-http"],
        { cwd: repoRoot, env: { ...process.env, ...c.env } },
        (err, _out, stderr) =>
          err ? reject(new Error(`npm run release -- ${args.slice(1).join(" ")}: ${stderr}`)) : resolve(),
      );
    });
    return { ref: `oci://${registry}/charts/mattermost-rtcd`, version };
  })();
  return pushed;
}

export interface PullEvent {
  pod: string;
  reason: "Pulling" | "Pulled";
  message: string;
}

/** kubelet's image events in a namespace that name an image in the cluster's registry. */
export async function registryPullEvents(namespace: string): Promise<PullEvent[]> {
  const addr = registryAddress(stateDir());
  const ev = await getJson<{
    items: { reason?: string; message?: string; involvedObject: { kind: string; name: string } }[];
  }>(["get", "events", "-n", namespace, "--field-selector", "involvedObject.kind=Pod"]);
  return ev.items.flatMap((e) =>
    (e.reason === "Pulling" || e.reason === "Pulled") && e.message?.includes(`"${addr}/`)
      ? [{ pod: e.involvedObject.name, reason: e.reason, message: e.message }]
      : [],
  );
}
