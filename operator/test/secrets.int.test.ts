// Secrets the pods read: a CR waiting for one recovers when it appears (not on
// its retry backoff), and a changed value rolls the pods while unrelated
// changes do not. The operator here never resyncs and retries only after ten
// minutes, so anything that happens within a test's timeout came from the
// Secret watch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cr,
  getOrUndefined,
  installCrd,
  kubectl,
  startOperator,
  useCluster,
  useNamespace,
  waitCondition,
  waitFor,
  waitReady,
  type Obj,
  type OperatorProcess,
} from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-secrets");
installCrd();
let op: OperatorProcess;
const CHECKSUM = "rtcd.mattermost.com/secrets-checksum";

beforeAll(async () => {
  const c = await useCluster();
  op = await startOperator(
    c.kubeconfig,
    [
      "--namespace",
      ns.name,
      "--resync-period",
      "0s",
      "--retry-base-delay",
      "10m",
      "--retry-max-delay",
      "10m",
    ],
    c.env,
  );
  await waitFor(async () => op.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
});

afterAll(async () => {
  const code = await op?.stop();
  expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
});

const apply = (doc: string) => kubectl(["apply", "-n", ns.name, "-f", "-"], { input: doc });
const b64 = (s: string) => Buffer.from(s).toString("base64");
const podChecksum = async (name: string) =>
  (await getOrUndefined<Obj>(ns.name, "deployment", name))?.spec?.template?.metadata?.annotations?.[CHECKSUM];
const reconciles = () => op.metricValue("controller_runtime_reconcile_total");

describe("Secrets the pods read", () => {
  it("a CR waiting for its Secret turns Ready as soon as the Secret appears", async () => {
    await apply(
      cr("waits", {
        replicas: 1,
        rtcd: { turn: { staticAuthSecretRef: { name: "late-turn", key: "secret" } } },
      }),
    );
    await waitCondition(ns.name, "waits", "Degraded", "True");
    await kubectl(["create", "secret", "generic", "late-turn", "-n", ns.name, "--from-literal=secret=one"]);
    // The next retry is 10 minutes away: only the watch can make this pass.
    const ready = await waitReady(ns.name, "waits", 30_000);
    expect(ready.status?.readyReplicas).toBe(1);
    const sum = await podChecksum("waits");
    expect(sum).toMatch(/^[0-9a-f]{16}$/);
    // A hash of the value, not the value.
    const d = await getOrUndefined<Obj>(ns.name, "deployment", "waits");
    expect(JSON.stringify(d)).not.toContain(b64("one"));
  });

  it("a changed value rolls the pods; other keys and labels do not", async () => {
    await kubectl([
      "create",
      "secret",
      "generic",
      "shared-turn",
      "-n",
      ns.name,
      "--from-literal=secret=first",
      "--from-literal=unused=x",
    ]);
    await apply(
      cr("rolls", {
        replicas: 1,
        rtcd: { turn: { staticAuthSecretRef: { name: "shared-turn", key: "secret" } } },
      }),
    );
    await waitReady(ns.name, "rolls");
    const before = await podChecksum("rolls");
    expect(before).toBeDefined();

    // Unrelated changes: reconciled (the watch wakes the CR) but nothing rolls.
    const r0 = await reconciles();
    await kubectl(["label", "secret", "shared-turn", "-n", ns.name, "team=media"]);
    await kubectl([
      "patch",
      "secret",
      "shared-turn",
      "-n",
      ns.name,
      "--type=merge",
      "-p",
      JSON.stringify({ data: { unused: b64("y") } }),
    ]);
    await waitFor(async () => (await reconciles()) >= r0 + 2, {
      timeoutMs: 30_000,
      what: "the operator to reconcile after the Secret's label and unused key changed",
    });
    expect(await podChecksum("rolls")).toBe(before);

    const gen0 = (await getOrUndefined<Obj>(ns.name, "deployment", "rolls"))!.metadata.generation!;
    await kubectl([
      "patch",
      "secret",
      "shared-turn",
      "-n",
      ns.name,
      "--type=merge",
      "-p",
      JSON.stringify({ data: { secret: b64("second") } }),
    ]);
    await waitFor(async () => (await podChecksum("rolls")) !== before, {
      timeoutMs: 30_000,
      what: "the pod template's secrets checksum to change after the value changed",
    });
    const d = (await getOrUndefined<Obj>(ns.name, "deployment", "rolls"))!;
    expect(d.metadata.generation).toBeGreaterThan(gen0);
  });

  it("a CR that reads no user Secret still rolls when its generated admin key is replaced", async () => {
    await apply(cr("admin", { replicas: 1 }));
    await waitReady(ns.name, "admin");
    const before = await podChecksum("admin");
    expect(before).toBeDefined();
    // Deleting the generated Secret is how a user rotates that key.
    await kubectl(["delete", "secret", "admin-admin", "-n", ns.name]);
    await waitFor(async () => (await podChecksum("admin")) !== before, {
      timeoutMs: 30_000,
      what: "the pods to roll onto the regenerated admin key",
    });
    const regenerated = await getOrUndefined<Obj>(ns.name, "secret", "admin-admin");
    expect(regenerated?.data?.["ADMIN_SECRET_KEY"]).toBeDefined();
  });
});
