// Where the local cluster's binaries and state live. Binaries are cached
// outside the repository keyed by version (a second build is free); the state
// (certificates, etcd data, logs, kubeconfig) has one home so `down` can remove
// exactly what `up` made.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const clusterDir = import.meta.dirname;

export function cacheDir(): string {
  return (
    process.env["MMRTCD_CACHE_DIR"] ??
    join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "mattermost-rtcd")
  );
}

export function stateDir(): string {
  return (
    process.env["MMRTCD_CLUSTER_DIR"] ??
    join(process.env["XDG_STATE_HOME"] ?? join(homedir(), ".local", "state"), "mattermost-rtcd", "cluster")
  );
}

export interface Versions {
  K8S_VERSION: string;
  ETCD_VERSION: string;
  KWOK_VERSION: string;
  HELM_VERSION: string;
  ACTIONLINT_VERSION: string;
  REGISTRY_VERSION: string;
}

/** versions.env with the same environment overrides the build script honours. */
export function versions(): Versions {
  const text = readFileSync(join(clusterDir, "versions.env"), "utf8");
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([A-Z0-9_]+)=\$\{\1:-([^}]+)\}/gm)) {
    const [, key, fallback] = m;
    if (key && fallback) out[key] = process.env[key] || fallback;
  }
  for (const key of [
    "K8S_VERSION",
    "ETCD_VERSION",
    "KWOK_VERSION",
    "HELM_VERSION",
    "ACTIONLINT_VERSION",
    "REGISTRY_VERSION",
  ]) {
    if (!out[key]) throw new Error(`${key} is missing from ${join(clusterDir, "versions.env")}`);
  }
  return out as unknown as Versions;
}

export type Tool =
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kubectl"
  | "etcd"
  | "kwok"
  | "helm"
  | "kubelet"
  | "kube-proxy"
  | "actionlint";

export function toolPath(tool: Tool): string {
  const v = versions();
  const dir = (() => {
    switch (tool) {
      case "etcd":
        return `etcd-${v.ETCD_VERSION}`;
      case "kwok":
        return `kwok-${v.KWOK_VERSION}`;
      case "helm":
        return `helm-${v.HELM_VERSION}`;
      case "actionlint":
        return `actionlint-${v.ACTIONLINT_VERSION}`;
      default:
        return `kubernetes-${v.K8S_VERSION}`;
    }
  })();
  return join(cacheDir(), dir, tool);
}

export function kwokStagesPath(): string {
  return join(cacheDir(), `kwok-${versions().KWOK_VERSION}`, "stages.yaml");
}

export const CONTROL_PLANE_TOOLS: readonly Tool[] = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "etcd",
  "kwok",
  "helm",
];

export function missingTools(tools: readonly Tool[] = CONTROL_PLANE_TOOLS): Tool[] {
  const missing = tools.filter((t) => !existsSync(toolPath(t)));
  if (tools.includes("kwok") && !existsSync(kwokStagesPath())) missing.push("kwok");
  return [...new Set(missing)];
}
