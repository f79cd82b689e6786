// The install paths a platform team uses, end to end: `kubectl apply -k` of the
// operator's kustomization, the operator running with exactly the rights that
// installs (its ServiceAccount's token, not an admin), and the README's
// `npm start` quick start.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify, parse } from "yaml";
import {
  getJson,
  kubectl,
  startOperator,
  tryKubectl,
  useCluster,
  useNamespace,
  waitFor,
  type OperatorProcess,
} from "../src/testing/index.ts";

const root = join(import.meta.dirname, "../..");
const OP_NS = "mattermost-rtcd-operator";
const SA = `system:serviceaccount:${OP_NS}:mattermost-rtcd-operator`;
const ns = useNamespace("install");
let op: OperatorProcess | undefined;

beforeAll(async () => {
  await useCluster();
  // A namespace from an earlier run may still be terminating.
  await tryKubectl(["wait", "--for=delete", `namespace/${OP_NS}`, "--timeout=120s"]);
  await kubectl(["apply", "--server-side", "--force-conflicts", "-k", join(root, "operator/config/default")]);
});

afterAll(async () => {
  await op?.stop();
  await tryKubectl(["delete", "namespace", OP_NS, "--wait=false"]);
  await tryKubectl(["delete", "clusterrolebinding,clusterrole", "mattermost-rtcd-operator"]);
});

async function canI(verb: string, resource: string, namespace?: string): Promise<boolean> {
  const [res, sub] = resource.split("/") as [string, string | undefined];
  const args = ["auth", "can-i", verb, res, "--as", SA, ...(sub ? [`--subresource=${sub}`] : [])];
  const r = await tryKubectl(namespace ? [...args, "-n", namespace] : [...args, "--all-namespaces"]);
  return r.stdout.trim() === "yes";
}

describe("kubectl apply -k operator/config/default", () => {
  it("installs a hardened operator Deployment", async () => {
    const d = await getJson<{
      spec: {
        replicas: number;
        template: {
          spec: {
            serviceAccountName: string;
            securityContext: { runAsNonRoot: boolean };
            containers: { args: string[]; securityContext: Record<string, unknown> }[];
          };
        };
      };
    }>(["get", "deployment", "mattermost-rtcd-operator", "-n", OP_NS]);
    const pod = d.spec.template.spec;
    expect(d.spec.replicas).toBe(2);
    expect(pod.containers[0]!.args).toContain("--leader-elect");
    expect(pod.serviceAccountName).toBe("mattermost-rtcd-operator");
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers[0]!.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("grants least privilege: what the controller needs and nothing broader", async () => {
    expect(await canI("patch", "deployments.apps")).toBe(true);
    expect(await canI("patch", "mattermostrtcds.rtcd.mattermost.com/status")).toBe(true);
    expect(await canI("create", "leases.coordination.k8s.io", OP_NS)).toBe(true);
    // Pods are read (for status) and patched only for the autoscaler's
    // deletion-cost annotation; never created or deleted.
    expect(await canI("watch", "pods")).toBe(true);
    expect(await canI("patch", "pods")).toBe(true);
    // Not: editing its own spec, leases elsewhere, deleting pods, nodes, RBAC, namespaces.
    expect(await canI("patch", "mattermostrtcds.rtcd.mattermost.com")).toBe(false);
    expect(await canI("create", "leases.coordination.k8s.io", "default")).toBe(false);
    expect(await canI("delete", "pods")).toBe(false);
    expect(await canI("create", "pods")).toBe(false);
    expect(await canI("list", "nodes")).toBe(false);
    expect(await canI("create", "clusterrolebindings.rbac.authorization.k8s.io")).toBe(false);
    expect(await canI("delete", "namespaces")).toBe(false);
  });

  it("those rights are enough: the operator, as its ServiceAccount, makes a CR Ready", async () => {
    const c = await useCluster();
    const token = (await kubectl(["create", "token", "mattermost-rtcd-operator", "-n", OP_NS])).trim();
    const admin = parse(readFileSync(c.kubeconfig, "utf8")) as {
      clusters: { cluster: Record<string, string> }[];
    };
    const cluster = admin.clusters[0]!.cluster;
    const file = join(mkdtempSync(join(tmpdir(), "rtcd-sa-")), "kubeconfig");
    writeFileSync(
      file,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster }],
        users: [{ name: "sa", user: { token } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "sa" } }],
        "current-context": "c",
      }),
    );
    op = await startOperator(file, ["--leader-elect", "--leader-election-namespace", OP_NS], c.env);
    await kubectl(["apply", "-n", ns.name, "-f", join(root, "operator/config/samples/mattermostrtcd.yaml")]);
    try {
      await kubectl([
        "wait",
        "-n",
        ns.name,
        "--for=condition=Ready",
        "--timeout=240s",
        "mattermostrtcd/rtcd",
      ]).catch((err: unknown) => {
        throw new Error(`${String(err)}\noperator logs:\n${op!.logs.slice(-20).join("\n")}`, { cause: err });
      });
      expect(op.logs.filter((l) => /"level":"error"/.test(l))).toEqual([]);
    } finally {
      // Also on failure: its pods hold host ports the next test's sample needs.
      await kubectl(["delete", "-n", ns.name, "mattermostrtcd/rtcd", "--wait=true"]);
    }
  });
});

describe("npm start", () => {
  it("brings up the cluster, the operator and a Ready sample, and prints the endpoint", async () => {
    const c = await useCluster();
    const sampleNs = `${ns.name}-start`;
    const child = spawn(process.execPath, [join(root, "scripts/start.ts"), "--exit-when-ready"], {
      cwd: root,
      env: {
        ...process.env,
        SAMPLE_NAMESPACE: sampleNs,
        ...(c.local ? {} : { E2E_KUBECONFIG: c.kubeconfig }),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    try {
      expect(code, out.slice(-3000)).toBe(0);
      expect(out).toContain(`MM_CALLS_RTCD_SERVICE_URL=http://rtcd.${sampleNs}.svc.cluster.local:8045`);
      await waitFor(async () => (await tryKubectl(["get", "deployment", "rtcd", "-n", sampleNs])).ok, {
        timeoutMs: 5_000,
        what: "the sample's Deployment",
      });
      expect(out).toContain("npm start -- --real-node");
      // On simulated nodes a test call is refused with what to do instead.
      const call = spawnSync(
        process.execPath,
        [join(root, "scripts/test-call.ts"), "--namespace", sampleNs],
        {
          cwd: root,
          env: { ...process.env, ...(c.local ? {} : { KUBECONFIG: c.kubeconfig }) },
          encoding: "utf8",
        },
      );
      expect(call.status, call.stdout + call.stderr).toBe(1);
      expect(call.stderr).toContain("simulated nodes");
      expect(call.stderr).toContain("npm start -- --real-node");
    } finally {
      await tryKubectl(["delete", "namespace", sampleNs, "--wait=false"]);
    }
  });
});
