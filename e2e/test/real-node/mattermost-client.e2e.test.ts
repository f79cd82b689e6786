// spec.mattermostClient on real kubelets: self-registration stays off, so
// the only way Mattermost's credentials can log in on a pod is the
// operator registering them there. The kubelet (unlike kwok) holds a pod
// out of Ready until the operator sets the readiness gate, so every Ready
// pod must already take the credentials of Secret <name>-mattermost: after
// the first rollout, after a rolling update, and after a pod is deleted,
// with no manual step.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  applyCrd,
  cr,
  getJson,
  instancePods,
  kubectl,
  startOperator,
  useCluster,
  useNamespace,
  waitFor,
  waitReady,
  type OperatorProcess,
} from "../../src/testing/index.ts";
import {
  ensureRealNodes,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeSkipReason,
  realNodesReleased,
} from "../../src/testing/real-node.ts";
import { registryImage, tagInRegistry } from "../../src/testing/registry.ts";

const skip = realNodeSkipReason();
const NAME = "rtcd-mm";
const GATE = "rtcd.mattermost.com/client-registered";
const ns = skip ? { name: "unused" } : useNamespace("mm-client-real");
let op: OperatorProcess | undefined;

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  status: { podIP?: string; conditions?: { type: string; status: string; reason?: string }[] };
}

const podsNow = (): Promise<Pod[]> => instancePods<Pod>(ns.name, NAME);
const isReady = (p: Pod) =>
  p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

async function credentials(): Promise<{ clientID: string; authKey: string; url: string }> {
  const s = await getJson<{ data: Record<string, string> }>([
    "get",
    "secret",
    "-n",
    ns.name,
    `${NAME}-mattermost`,
  ]);
  const dec = (k: string) => Buffer.from(s.data[k] ?? "", "base64").toString();
  return {
    clientID: dec("MM_CALLS_RTCD_CLIENT_ID"),
    authKey: dec("MM_CALLS_RTCD_AUTH_KEY"),
    url: dec("MM_CALLS_RTCD_SERVICE_URL"),
  };
}

/** Every Ready pod takes the Secret's credentials, and its gate is the operator's. */
async function logsInOnEveryReadyPod(
  what: string,
  expectPods: (names: string[]) => boolean,
): Promise<string[]> {
  const creds = await credentials();
  const ready = await waitFor(
    async () => {
      const ps = (await podsNow()).filter((p) => isReady(p) && !p.metadata.deletionTimestamp);
      return expectPods(ps.map((p) => p.metadata.name)) ? ps : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 1000, what },
  );
  for (const p of ready) {
    const gate = p.status.conditions?.find((c) => c.type === GATE);
    expect(gate, `${p.metadata.name}'s readiness gate`).toMatchObject({
      status: "True",
      reason: "ClientRegistered",
    });
    const res = await fetch(`http://${p.status.podIP}:8045/login`, {
      method: "POST",
      body: JSON.stringify({ clientID: creds.clientID, authKey: creds.authKey }),
    });
    expect(res.status, `login on ${p.metadata.name} (${what}): ${await res.text()}`).toBe(200);
  }
  return ready.map((p) => p.metadata.name);
}

describe.skipIf(!!skip)("Mattermost's client registered by the operator on real nodes", () => {
  beforeAll(async () => {
    const c = await useCluster();
    await ensureRealNodes(2);
    await applyCrd();
    op = await startOperator(c.kubeconfig, ["--namespace", ns.name, "--retry-max-delay", "2s"], c.env);
    await waitFor(async () => op!.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
  }, 2_700_000);

  afterAll(async () => {
    await kubectl([
      "delete",
      "mattermostrtcd",
      NAME,
      "-n",
      ns.name,
      "--ignore-not-found",
      "--wait=true",
    ]).catch(() => undefined);
    const code = await op?.stop();
    // The CR is gone; its pods hold the nodes' ports until they have exited.
    await realNodesReleased(ns.name);
    expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
  });

  test("after the first rollout, a rolling update and a pod deletion, the Secret's credentials log in on every pod", async () => {
    // Our image from the cluster's registry, pinned by digest.
    const image = registryImage("rtcd");
    const spec = (tag: string) => ({
      replicas: 1,
      image: { ...image, tag },
      nodeSelector: { [REAL_NODE_LABEL]: "true" },
      tolerations: [{ ...REAL_NODE_TAINT, operator: "Equal" }],
      mattermostClient: { clientID: "mattermost" },
    });
    await kubectl(["apply", "-n", ns.name, "-f", "-"], { input: cr(NAME, spec(image.tag)) });
    await waitReady(ns.name, NAME, 240_000);
    const creds = await credentials();
    expect(creds.clientID).toBe("mattermost");
    expect(new URL(creds.url).username).toBe("mattermost");
    const [first] = await logsInOnEveryReadyPod("the first pod Ready", (n) => n.length === 1);

    // A rolling update: a new pod (new image tag, same image) replaces the first.
    const next = await tagInRegistry(image, "local-mm");
    await kubectl(["apply", "-n", ns.name, "-f", "-"], { input: cr(NAME, spec(next.tag)) });
    const [second] = await logsInOnEveryReadyPod(
      "the rolled pod Ready",
      (n) => n.length === 1 && n[0] !== first,
    );

    // A deleted pod: its replacement starts with an empty store.
    await kubectl(["delete", "pod", second!, "-n", ns.name, "--wait=false"]);
    await logsInOnEveryReadyPod("the replacement pod Ready", (n) => n.length === 1 && n[0] !== second);
    // The Secret did not change under Mattermost meanwhile.
    expect(await credentials()).toEqual(creds);
  });
});
