// A GitOps tool (Argo CD, Flux) re-applies the same manifests over and over
// with server-side apply under its own field manager. What its users rely on:
// a re-apply of unchanged manifests changes nothing anywhere (no drift shown,
// no object rewritten, no write by the operator), and fields other managers
// own are left to them: replicas set through the scale subresource (kubectl
// scale, a HorizontalPodAutoscaler) and annotations other tools put on the
// operator's Deployment.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  getJson,
  getOrUndefined,
  instanceObjects,
  kubectl,
  operatorQuiet,
  operatorWrites,
  READY_TIMEOUT_MS,
  tryKubectl,
  useNamespace,
  useOperator,
  waitFor,
  waitReady,
  type Obj,
} from "../src/testing/index.ts";
import { freeNodePorts } from "../src/testing/ports.ts";

const ns = useNamespace("e2e-gitops");
const handle = useOperator(() => [ns.name], ["--resync-period", "2s"]);
const MANAGER = "gitops-e2e";
const NAME = "rtcd";
const dir = mkdtempSync(join(tmpdir(), "rtcd-gitops-"));
const manifests = join(dir, "manifests.yaml");
let nodePort = 0;

interface ManagedField {
  manager: string;
  operation: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}
type Managed = Obj & {
  metadata: Obj["metadata"] & { resourceVersion: string; managedFields?: ManagedField[] };
};

/** What the Git repository holds: a Secret and a MattermostRTCD without spec.replicas. */
function writeManifests(level: "INFO" | "DEBUG"): void {
  const docs = [
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "turn-credentials", namespace: ns.name },
      stringData: { secret: "not-a-real-secret" },
    },
    {
      apiVersion: "rtcd.mattermost.com/v1alpha1",
      kind: "MattermostRTCD",
      metadata: { name: NAME, namespace: ns.name },
      spec: {
        // NodePort: no host ports, so this file never competes for nodes with others.
        networking: { mode: "NodePort", nodePort },
        rtcd: {
          iceHostOverride: { host: "203.0.113.7" },
          logging: { level: level },
          turn: { staticAuthSecretRef: { name: "turn-credentials", key: "secret" } },
        },
      },
    },
  ];
  writeFileSync(manifests, docs.map((d) => stringify(d)).join("---\n"));
}

const gitopsApply = () => kubectl(["apply", "--server-side", `--field-manager=${MANAGER}`, "-f", manifests]);
const gitopsDiff = () => tryKubectl(["diff", "--server-side", `--field-manager=${MANAGER}`, "-f", manifests]);

/** Who owns spec.replicas of the MattermostRTCD, by field manager. */
function replicasOwners(o: Managed): string[] {
  return (o.metadata.managedFields ?? [])
    .filter((f) => {
      const spec = f.fieldsV1?.["f:spec"] as Record<string, unknown> | undefined;
      return spec !== undefined && "f:replicas" in spec;
    })
    .map((f) => `${f.manager}${f.subresource ? `/${f.subresource}` : ""}`);
}

/** The object with its managedFields (which kubectl hides unless asked). */
const managed = (kind: string) =>
  getJson<Managed>(["get", kind, NAME, "-n", ns.name, "--show-managed-fields"]);

async function resourceVersions(): Promise<Record<string, string>> {
  const objs = (await instanceObjects(ns.name, NAME)) as Managed[];
  const cr = (await managed("mattermostrtcd")) as Managed;
  const secret = await getJson<Managed>(["get", "secret", "turn-credentials", "-n", ns.name]);
  return Object.fromEntries(
    [cr, secret, ...objs].map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]),
  );
}

async function deploymentReplicas(want: number): Promise<void> {
  await waitFor(
    async () => {
      const d = await getOrUndefined<{ spec: { replicas: number }; status: { readyReplicas?: number } }>(
        ns.name,
        "deployment",
        NAME,
      );
      return d?.spec.replicas === want && d.status.readyReplicas === want;
    },
    { timeoutMs: READY_TIMEOUT_MS, what: `Deployment ${NAME} at ${want} ready replicas` },
  );
  const cr = await waitReady(ns.name, NAME, READY_TIMEOUT_MS);
  expect(cr.status?.replicas).toBe(want);
  expect(cr.status?.readyReplicas).toBe(want);
}

beforeAll(async () => {
  [nodePort] = (await freeNodePorts(1)) as [number];
  writeManifests("INFO");
});

afterAll(async () => {
  await tryKubectl(["delete", "hpa", "rtcd", "-n", ns.name, "--ignore-not-found"]);
  rmSync(dir, { recursive: true, force: true });
});

describe("GitOps: the same manifests applied again", () => {
  it("first apply: Ready, with the operator's default of 2 replicas and nobody owning spec.replicas", async () => {
    await gitopsApply();
    await deploymentReplicas(2);
    const cr = await managed("mattermostrtcd");
    expect(cr.spec?.["replicas"]).toBeUndefined();
    expect(replicasOwners(cr)).toEqual([]);
  });

  it("a second apply changes nothing: empty diff, same resourceVersions, no operator write", async () => {
    const op = handle.op!;
    await waitReady(ns.name, NAME, READY_TIMEOUT_MS);
    const w0 = await operatorQuiet(op);
    const rv0 = await resourceVersions();
    const reconciles0 = await op.metricValue("controller_runtime_reconcile_total");

    const diff = await gitopsDiff();
    expect(diff.stderr).toBe("");
    expect(diff.stdout).toBe("");
    expect(diff.ok).toBe(true);
    const out = await gitopsApply();
    expect(out).toMatch(/mattermostrtcd\.rtcd\.mattermost\.com\/rtcd serverside-applied/);
    // Several resyncs pass: the operator looks at everything again and writes nothing.
    await waitFor(
      async () => (await op.metricValue("controller_runtime_reconcile_total")) >= reconciles0 + 3,
      {
        timeoutMs: 30_000,
        what: "three more reconciles",
      },
    );
    expect(await resourceVersions()).toEqual(rv0);
    expect(await operatorWrites(op)).toBe(w0);
    expect((await gitopsDiff()).stdout).toBe("");
  });
});

describe("GitOps: fields another field manager owns", () => {
  it("kubectl scale through the MattermostRTCD's scale subresource owns replicas; a re-apply keeps them", async () => {
    await kubectl(["scale", "mattermostrtcd", NAME, "-n", ns.name, "--replicas=3"]);
    await deploymentReplicas(3);
    const cr = await managed("mattermostrtcd");
    expect(cr.spec?.["replicas"]).toBe(3);
    // The API server records no managedFields entry for a custom resource's
    // scale subresource (1.35); what matters is that the GitOps manager does
    // not own the field, so its next apply neither conflicts nor resets it.
    expect(replicasOwners(cr)).not.toContain(MANAGER);

    // The Git repository still has no replicas: nothing to show, nothing to undo.
    expect((await gitopsDiff()).stdout).toBe("");
    await gitopsApply();
    const after = await managed("mattermostrtcd");
    expect(after.spec?.["replicas"]).toBe(3);
    await deploymentReplicas(3);
  });

  it("a HorizontalPodAutoscaler targeting the MattermostRTCD scales it, and a re-apply keeps its replicas", async () => {
    // Without a metrics server the HPA still enforces its bounds: 3 > maxReplicas, so it scales to 1.
    await kubectl(["apply", "-n", ns.name, "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "rtcd" },
        spec: {
          scaleTargetRef: { apiVersion: "rtcd.mattermost.com/v1alpha1", kind: "MattermostRTCD", name: NAME },
          minReplicas: 1,
          maxReplicas: 1,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
            },
          ],
        },
      }),
    });
    await waitFor(async () => (await managed("mattermostrtcd")).spec?.["replicas"] === 1, {
      timeoutMs: READY_TIMEOUT_MS,
      what: "the HPA to set spec.replicas to 1",
    });
    await deploymentReplicas(1);
    const hpa = await getJson<{ status: { currentReplicas?: number; desiredReplicas?: number } }>([
      "get",
      "hpa",
      "rtcd",
      "-n",
      ns.name,
    ]);
    expect(hpa.status.desiredReplicas).toBe(1);

    await gitopsApply();
    expect((await gitopsDiff()).stdout).toBe("");
    const cr = await managed("mattermostrtcd");
    expect(cr.spec?.["replicas"]).toBe(1);
    expect(replicasOwners(cr)).not.toContain(MANAGER);
    await deploymentReplicas(1);
    await kubectl(["delete", "hpa", "rtcd", "-n", ns.name]);
  });

  it("another tool's annotation on the Deployment survives the operator's reconciles and re-applies", async () => {
    const op = handle.op!;
    const KEY = "gitops.example.com/sync-wave";
    await kubectl(["annotate", "deployment", NAME, "-n", ns.name, `${KEY}=5`, "--field-manager=argocd-e2e"]);
    const before = await managed("deployment");
    const w0 = await operatorWrites(op);

    // A change in Git: the operator re-applies the Deployment (new config checksum).
    writeManifests("DEBUG");
    await gitopsApply();
    const after = await waitFor(
      async () => {
        const d = await managed("deployment");
        return d.metadata.generation! > before.metadata.generation! ? d : undefined;
      },
      { timeoutMs: READY_TIMEOUT_MS, what: "the operator to re-apply the Deployment" },
    );
    expect(await operatorWrites(op)).toBeGreaterThan(w0);
    await waitReady(ns.name, NAME, READY_TIMEOUT_MS);
    await operatorQuiet(op);
    const settled = await managed("deployment");
    for (const d of [after, settled]) {
      expect(d.metadata.annotations?.[KEY]).toBe("5");
      const owners = (d.metadata.managedFields ?? []).filter((f) =>
        JSON.stringify(f.fieldsV1 ?? {}).includes(`"f:${KEY}"`),
      );
      expect(owners.map((f) => f.manager)).toEqual(["argocd-e2e"]);
    }
    const config = await getJson<{ data: Record<string, string> }>([
      "get",
      "configmap",
      `${NAME}-config`,
      "-n",
      ns.name,
    ]);
    expect(config.data["RTCD_LOGGER_CONSOLELEVEL"]).toBe("DEBUG");
  });

  it("kubectl delete -f of the manifests leaves nothing behind", async () => {
    await kubectl(["delete", "-f", manifests, "--wait=true"]);
    await waitFor(async () => (await instanceObjects(ns.name, NAME)).length === 0, {
      timeoutMs: READY_TIMEOUT_MS,
      what: "every owned object (including the generated admin Secret) to be garbage-collected",
    });
    const pods = await kubectl([
      "get",
      "pods",
      "-n",
      ns.name,
      "-l",
      `app.kubernetes.io/instance=${NAME}`,
      "-o",
      "name",
    ]);
    await waitFor(
      async () =>
        (await kubectl([
          "get",
          "pods",
          "-n",
          ns.name,
          "-l",
          `app.kubernetes.io/instance=${NAME}`,
          "-o",
          "name",
        ])) === "",
      { timeoutMs: READY_TIMEOUT_MS, what: `the pods to go (were: ${pods.trim()})` },
    );
  });
});
