// How GitOps tools judge a MattermostRTCD, with their own code over real
// objects in each phase: Argo CD through our health.lua run by gopher-lua (the
// interpreter Argo CD embeds), Flux through kstatus (sigs.k8s.io/cli-utils).
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  kubectl,
  useCluster,
  useNamespace,
  waitFor,
  startOperator,
  type OperatorProcess,
  cr,
  getOrUndefined,
  installCrd,
  waitCondition,
  waitReady,
} from "@mattermost-rtcd/e2e/testing";
import { judge } from "@mattermost-rtcd/e2e/gitops-health";
import type { MattermostRTCD } from "../src/api/index.ts";

const HEALTH_LUA = join(import.meta.dirname, "../config/argocd/health.lua");
const ns = useNamespace("operator-gitops-health");
installCrd();
let op: OperatorProcess;
const objects: Record<string, MattermostRTCD> = {};

const apply = (name: string, spec: Record<string, unknown>) =>
  kubectl(["apply", "-n", ns.name, "-f", "-"], { input: cr(name, spec) });

beforeAll(async () => {
  const c = await useCluster();
  // Applied before any operator runs: what a GitOps tool sees right after it applies.
  await apply("creating", { replicas: 1, apiPort: 19045, rtcPort: 19443 });
  objects["creating"] = (await getOrUndefined<MattermostRTCD>(ns.name, "mattermostrtcd", "creating"))!;

  op = await startOperator(c.kubeconfig, ["--namespace", ns.name, "--resync-period", "2s"], c.env);
  await waitFor(async () => op.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
  await apply("rolling-out", { replicas: 1, nodeSelector: { "example.com/pool": "absent" } });
  await apply("degraded", {
    replicas: 1,
    rtcd: { turn: { staticAuthSecretRef: { name: "missing", key: "secret" } } },
  });
  await apply("paused", { replicas: 1, paused: true });
  await apply("ready", { replicas: 1, apiPort: 18045, rtcPort: 18443 });
  objects["rolling-out"] = await waitCondition(ns.name, "rolling-out", "Ready", "False", "PodUnschedulable");
  objects["degraded"] = await waitCondition(ns.name, "degraded", "Degraded", "True", "SecretNotFound");
  objects["paused"] = await waitCondition(ns.name, "paused", "Ready", "False", "Paused");
  objects["ready"] = await waitReady(ns.name, "ready");
});

afterAll(async () => {
  const code = await op?.stop();
  expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
});

describe("GitOps health of a MattermostRTCD", () => {
  it("Argo CD (health.lua in gopher-lua) and kstatus judge each phase", () => {
    const names = ["creating", "rolling-out", "degraded", "paused", "ready"];
    const got = judge(
      HEALTH_LUA,
      names.map((n) => objects[n]),
    );
    const table = Object.fromEntries(
      got.map((r) => [r.name, { argo: r.argo.status, kstatus: r.kstatus.status }]),
    );
    // "creating" has no status yet: kstatus cannot tell (operator/config/argocd/README.md).
    expect(table).toEqual({
      creating: { argo: "Progressing", kstatus: "Current" },
      "rolling-out": { argo: "Progressing", kstatus: "InProgress" },
      degraded: { argo: "Degraded", kstatus: "Failed" },
      paused: { argo: "Suspended", kstatus: "InProgress" },
      ready: { argo: "Healthy", kstatus: "Current" },
    });
    const degraded = got.find((r) => r.name === "degraded")!;
    expect(degraded.argo.message).toContain("SecretNotFound");
    expect(degraded.argo.message).toContain("missing");
    expect(got.find((r) => r.name === "rolling-out")!.argo.message).toMatch(/0\/\d+ nodes are available/);
  });
});
