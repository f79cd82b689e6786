// What the operator may do, asked of the API server itself
// (`kubectl auth can-i --list` as its ServiceAccount), against what README.md
// and the chart README say it may do. Both install paths: the chart's operator
// mode (by default a Role in the release namespace) and the kustomization's
// ClusterRole (operator/config/rbac).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { kubectl, tryKubectl, useCluster, useNamespace } from "@mattermost-rtcd/e2e/testing";
import { helmTemplateRaw } from "@mattermost-rtcd/e2e/chart/render";
import { seedValuesFile } from "@mattermost-rtcd/e2e/chart/paths";

const root = join(import.meta.dirname, "../..");
const ns = useNamespace("operator-rbac");
const LEASES = "leases.coordination.k8s.io";
type Rights = Record<string, string[]>;

/** The table between the operator-rights markers: resource to sorted verbs. */
function documented(file: string): Rights {
  const text = readFileSync(join(root, file), "utf8");
  const block = /<!-- operator-rights:begin[^>]*-->\n([\s\S]*?)<!-- operator-rights:end -->/.exec(text);
  if (!block) throw new Error(`${file} has no operator-rights table`);
  const rights: Rights = {};
  for (const line of block[1]!.split("\n").slice(2)) {
    const [, resources, verbs] = line.split("|").map((c) => c.trim());
    if (!resources || !verbs) continue;
    for (const [, r] of resources.matchAll(/`([^`]+)`/g)) {
      rights[r!] = verbs
        .split(",")
        .map((v) => v.trim())
        .sort();
    }
  }
  return rights;
}

/** `deployments.apps`, `mattermostrtcds/status.rtcd.mattermost.com` → `<plural>[.<group>][/<sub>]`. */
function normalise(printed: string): string {
  const m = /^([^./]+)(?:\/([^.]+))?(?:\.([^/]+))?(?:\/(.+))?$/.exec(printed);
  if (!m) return printed;
  const [, plural, sub1, group, sub2] = m;
  const sub = sub1 ?? sub2;
  return `${plural}${group ? `.${group}` : ""}${sub ? `/${sub}` : ""}`;
}

/** `kubectl auth can-i --list` as a ServiceAccount in a namespace: resource rules only. */
async function canList(sa: string, namespace: string): Promise<Rights> {
  const out = await kubectl([
    "auth",
    "can-i",
    "--list",
    "-n",
    namespace,
    `--as=system:serviceaccount:${ns.name}:${sa}`,
  ]);
  const rights: Record<string, Set<string>> = {};
  for (const line of out.split("\n").slice(1)) {
    // Non-resource URL rows start with a blank Resources column.
    const m = /^(\S+)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*$/.exec(line);
    if (!m || m[3]) continue; // rules limited to resource names are not ours
    const r = normalise(m[1]!);
    rights[r] ??= new Set();
    for (const v of m[4]!.split(" ").filter(Boolean)) rights[r].add(v);
  }
  return Object.fromEntries(Object.entries(rights).map(([r, v]) => [r, [...v].sort()]));
}

/** What the operator's ServiceAccount may do beyond what every ServiceAccount may. */
function beyond(rights: Rights, baseline: Rights): Rights {
  const out: Rights = {};
  for (const [r, verbs] of Object.entries(rights)) {
    const extra = verbs.filter((v) => !baseline[r]?.includes(v) && !baseline[r]?.includes("*"));
    if (extra.length) out[r] = extra;
  }
  return out;
}

const WIDE = () => `rtcd-rbac-test-${ns.name}`;

beforeAll(async () => {
  await useCluster();
  await kubectl(["create", "serviceaccount", "nobody", "-n", ns.name]);
  // The chart's operator mode, released into this namespace: only its namespaced RBAC.
  const chart = parseAllDocuments(
    helmTemplateRaw(
      { operator: { enabled: true, customResource: "never", crds: { install: false } } },
      { release: "rbac", namespace: ns.name, files: [seedValuesFile] },
    ),
  )
    .map((d) => d.toJS() as { kind?: string } | null)
    .filter((o) => o && ["ServiceAccount", "Role", "RoleBinding"].includes(o.kind ?? ""));
  await kubectl(["apply", "-n", ns.name, "-f", "-"], {
    input: JSON.stringify({ kind: "List", apiVersion: "v1", items: chart }),
  });
  // The kustomization's ClusterRole, bound to another ServiceAccount here.
  const role = parse(readFileSync(join(root, "operator/config/rbac/cluster_role.yaml"), "utf8")) as {
    metadata: { name: string };
  };
  role.metadata.name = WIDE();
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify(role) });
  await kubectl(["create", "serviceaccount", "wide", "-n", ns.name]);
  await kubectl([
    "create",
    "clusterrolebinding",
    WIDE(),
    `--clusterrole=${WIDE()}`,
    `--serviceaccount=${ns.name}:wide`,
  ]);
});

afterAll(async () => {
  await tryKubectl(["delete", "clusterrolebinding,clusterrole", WIDE(), "--ignore-not-found"]);
});

describe("the operator's rights, as the API server grants them", () => {
  it("the README and the chart README document the same rights", () => {
    expect(documented("charts/mattermost-rtcd/README.md")).toEqual(documented("README.md"));
  });

  it("chart operator mode: exactly the documented rights, in the release namespace only", async () => {
    const baseline = await canList("nobody", ns.name);
    const sa = "rbac-mattermost-rtcd-operator";
    expect(beyond(await canList(sa, ns.name), baseline)).toEqual(documented("README.md"));
    // Nothing at all in another namespace.
    expect(beyond(await canList(sa, "default"), await canList("nobody", "default"))).toEqual({});
  });

  it("kustomization (cluster-wide): exactly the documented rights in any namespace, no Leases", async () => {
    const want = Object.fromEntries(Object.entries(documented("README.md")).filter(([r]) => r !== LEASES));
    const baseline = await canList("nobody", "default");
    expect(beyond(await canList("wide", "default"), baseline)).toEqual(want);
  });
});
