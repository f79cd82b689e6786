// spec.mattermostClient on the real API server: the operator registers
// Mattermost's client on every pod through rtcd's admin API, marks the pod's
// readiness-gate condition only after, and writes a Secret whose URL logs in.
// kwok pods run nothing, so each pod's API is a real rtcd process (ours, and
// Mattermost's own binary for one pod) reached through the operator's
// --testing-pod-address-file; kwok itself sets every readiness gate True, so
// "registered" here is the operator's condition (reason ClientRegistered).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cr,
  getOrUndefined,
  installCrd,
  instancePods,
  kubectl,
  quietFor,
  startOperator,
  useCluster,
  useNamespace,
  waitFor,
  type Obj,
  type OperatorProcess,
} from "@mattermost-rtcd/e2e/testing";
import { startRtcd, stopRtcd, type Running } from "@mattermost-rtcd/rtcd/testing/procs";
import { buildRealRtcd } from "@mattermost-rtcd/rtcd/testing/go-build";

const ns = useNamespace("operator-mm-client");
installCrd();
const CONDITION = "rtcd.mattermost.com/client-registered";
const dir = mkdtempSync(join(tmpdir(), "mm-client-"));
const addressFile = join(dir, "pods.json");
const pods: Record<string, string> = {};
const rtcds: Running[] = [];
let op: OperatorProcess;

beforeAll(async () => {
  writeFileSync(addressFile, "{}");
  const c = await useCluster();
  op = await startOperator(
    c.kubeconfig,
    ["--namespace", ns.name, "--testing-pod-address-file", addressFile, "--retry-max-delay", "2s"],
    c.env,
  );
  await waitFor(async () => op.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
});

afterAll(async () => {
  await Promise.all(rtcds.map((r) => stopRtcd(r)));
  const code = await op?.stop();
  expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
});

interface PodObj {
  metadata: { name: string; deletionTimestamp?: string };
  status?: { phase?: string; conditions?: { type: string; status: string; reason?: string }[] };
}
const listPods = async () =>
  (await instancePods<PodObj>(ns.name, "mm")).filter(
    (p) => !p.metadata.deletionTimestamp && p.status?.phase === "Running",
  );
const cond = (p: PodObj, type: string) => p.status?.conditions?.find((c) => c.type === type);
const registered = (p: PodObj) =>
  cond(p, CONDITION)?.status === "True" && cond(p, CONDITION)?.reason === "ClientRegistered";

async function adminKey(): Promise<string> {
  const s = await waitFor(async () => getOrUndefined<Obj>(ns.name, "secret", "mm-admin"), {
    timeoutMs: 30_000,
    what: "the generated admin Secret",
  });
  return Buffer.from(s.data!["ADMIN_SECRET_KEY"] as string, "base64").toString();
}

async function rtcd(impl: "ours" | "rtcd", name: string, admin: string): Promise<Running> {
  const r = await startRtcd({
    impl,
    // Built here if no other file has built it yet (the media tier builds it
    // too, in the other lane of `npm test`).
    realBinary: impl === "rtcd" ? await buildRealRtcd() : "",
    dir: join(dir, name),
    name,
    env: {
      RTCD_API_SECURITY_ENABLEADMIN: "true",
      RTCD_API_SECURITY_ADMINSECRETKEY: admin,
      RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "false",
    },
  });
  rtcds.push(r);
  return r;
}

/** The credentials Mattermost gets, read back the way the Calls plugin reads the URL. */
async function mattermostCredentials(): Promise<{ clientID: string; authKey: string; url: URL }> {
  const s = await waitFor(async () => getOrUndefined<Obj>(ns.name, "secret", "mm-mattermost"), {
    timeoutMs: 30_000,
    what: "Secret mm-mattermost",
  });
  const get = (k: string) => Buffer.from(s.data![k] as string, "base64").toString();
  const url = new URL(get("MM_CALLS_RTCD_SERVICE_URL"));
  const clientID = decodeURIComponent(url.username);
  const authKey = decodeURIComponent(url.password);
  expect(get("MM_CALLS_RTCD_CLIENT_ID")).toBe(clientID);
  expect(get("MM_CALLS_RTCD_AUTH_KEY")).toBe(authKey);
  return { clientID, authKey, url };
}

async function logsIn(base: string, c: { clientID: string; authKey: string }): Promise<number> {
  const r = await fetch(`${base}/login`, {
    method: "POST",
    body: JSON.stringify({ clientID: c.clientID, authKey: c.authKey }),
  });
  return r.status;
}

describe("Mattermost's client on every pod", () => {
  it("is registered on each pod before the pod's condition says so, and the Secret's URL logs in", async () => {
    await kubectl(["apply", "-n", ns.name, "-f", "-"], {
      input: cr("mm", { replicas: 2, mattermostClient: { clientID: "mattermost" } }),
    });
    const admin = await adminKey();
    const running = await waitFor(async () => ((await listPods()).length === 2 ? listPods() : undefined), {
      timeoutMs: 60_000,
      what: "2 running pods",
    });
    // No rtcd answers for the pods yet: the operator must not call them registered.
    await waitFor(
      async () => (await listPods()).every((p) => cond(p, CONDITION)?.reason === "ClientRegistrationFailed"),
      { timeoutMs: 30_000, what: "registration failures reported on both pods" },
    );
    await quietFor(3_000, {
      check: async () => expect((await listPods()).some(registered)).toBe(false),
    });

    const [a, b] = [await rtcd("ours", "ours-a", admin), await rtcd("rtcd", "mattermost-b", admin)];
    const creds = await mattermostCredentials();
    // Self-registration is off: the client is unknown to both until the operator registers it.
    expect(await logsIn(a.url, creds)).not.toBe(200);
    expect(await logsIn(b.url, creds)).not.toBe(200);
    pods[running[0]!.metadata.name] = a.url;
    pods[running[1]!.metadata.name] = b.url;
    writeFileSync(addressFile, JSON.stringify(pods));

    await waitFor(async () => (await listPods()).every(registered), {
      timeoutMs: 60_000,
      what: "both pods' client-registered condition",
    });
    expect(await logsIn(a.url, creds)).toBe(200);
    expect(await logsIn(b.url, creds)).toBe(200);
    expect(creds.url.host).toBe(`mm.${ns.name}.svc.cluster.local:8045`);
    // Applying our one condition leaves the kubelet's (here kwok's) conditions in place.
    for (const p of await listPods()) expect(cond(p, "ContainersReady")?.status).toBe("True");
    // No key in the CR's status or in events.
    const all = await kubectl(["get", "mattermostrtcd,events", "-n", ns.name, "-o", "json"]);
    expect(all).not.toContain(creds.authKey);
    expect(all).not.toContain(admin);
  });

  it("a pod that replaces a deleted one gets the client before it counts as registered", async () => {
    const creds = await mattermostCredentials();
    const victim = Object.keys(pods)[0]!;
    await kubectl(["delete", "pod", "-n", ns.name, victim, "--wait=false"]);
    const fresh = await waitFor(async () => (await listPods()).find((p) => !(p.metadata.name in pods)), {
      timeoutMs: 60_000,
      what: "a replacement pod",
    });
    await waitFor(
      async () =>
        cond(
          (await listPods()).find((p) => p.metadata.name === fresh.metadata.name)!,
          CONDITION,
        )?.reason === "ClientRegistrationFailed",
      {
        timeoutMs: 30_000,
        what: "the new pod waiting for its rtcd",
      },
    );
    const c = await rtcd("ours", "ours-c", await adminKey());
    expect(await logsIn(c.url, creds)).not.toBe(200);
    pods[fresh.metadata.name] = c.url;
    writeFileSync(addressFile, JSON.stringify(pods));
    await waitFor(
      async () => {
        const p = (await listPods()).find((x) => x.metadata.name === fresh.metadata.name);
        return p && registered(p);
      },
      { timeoutMs: 60_000, what: "the new pod's client-registered condition" },
    );
    expect(await logsIn(c.url, creds)).toBe(200);
    // The Secret did not change: Mattermost keeps the credentials it has.
    expect((await mattermostCredentials()).authKey).toBe(creds.authKey);
  });
});
