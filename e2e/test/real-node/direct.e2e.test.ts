// The chart's direct mode (no operator) with the image's own settings on a
// real node: nothing in the values points rtcd's store anywhere, so what the
// image sets is what runs, as non-root on a read-only root. The pod must
// become Ready through its real probes, a registration must survive a crash
// of rtcd (the container restarts in the same pod, as rtcd's own chart keeps
// it: in the pod's scratch volume) and a call must carry media.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import type { RealNode } from "../../cluster/real-node/config.ts";
import {
  instancePods,
  helm,
  tryHelm,
  tryKubectl,
  useCluster,
  useNamespace,
  waitFor,
} from "../../src/testing/index.ts";
import {
  connectPlugin,
  ensureRealNodes,
  nodeProcess,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeSkipReason,
  RTCD_AUTH_KEY,
  WatchedCall,
  realNodesReleased,
} from "../../src/testing/real-node.ts";
import { registryChart, registryImage, registryPullEvents } from "../../src/testing/registry.ts";

const skip = realNodeSkipReason();
const API_PORT = 8045;
const RELEASE = "rtcd-direct";
const ns = skip ? { name: "unused" } : useNamespace("direct");
let nodes: RealNode[] = [];

interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string; containers: { image: string; env?: { name: string }[] }[] };
  status: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      restartCount: number;
      imageID?: string;
      lastState?: { terminated?: { reason?: string } };
    }[];
  };
}

async function pod(): Promise<Pod> {
  const list = { items: await instancePods<Pod>(ns.name, RELEASE) };
  if (list.items.length !== 1) throw new Error(`expected one rtcd pod, found ${list.items.length}`);
  return list.items[0]!;
}

const ready = (p: Pod): boolean =>
  p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

describe.skipIf(!!skip)("the chart's direct mode on a real node, with the image's own settings", () => {
  beforeAll(async () => {
    await useCluster();
    nodes = await ensureRealNodes(2);
  }, 2_700_000);

  afterAll(async () => {
    await tryHelm(["uninstall", RELEASE, "-n", ns.name, "--wait", "--timeout", "2m"]);
    await realNodesReleased(ns.name);
  });

  test("Ready through its real probes, a registration survives an rtcd crash, and a call flows", async () => {
    const values = join(mkdtempSync(join(tmpdir(), "direct-")), "values.yaml");
    const onRealNodes = { [REAL_NODE_LABEL]: "true" };
    const tolerations = [{ ...REAL_NODE_TAINT, operator: "Equal" }];
    // Always: every container start asks the registry, so the pull shows in
    // kubelet's events even when an earlier file already pulled the image.
    const image = registryImage("rtcd", "Always");
    writeFileSync(
      values,
      stringify({
        // Only where the image comes from (the cluster's registry, by digest); its settings are its own.
        image,
        nodeSelector: onRealNodes,
        tolerations,
        configuration: {
          replicas: 1,
          environmentVariables: { RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true" },
          readinessProbeInitialDelaySeconds: 1,
          readinessProbePeriodSeconds: 2,
          livenessProbeInitialDelaySeconds: 5,
        },
      }),
    );
    // From the registry, as a user installs it; not --wait: a pod that never
    // gets Ready fails below with its own state.
    const chart = await registryChart();
    await helm([
      "upgrade",
      "--install",
      RELEASE,
      chart.ref,
      "--version",
      chart.version,
      "--plain-http",
      "-n",
      ns.name,
      "-f",
      values,
    ]);
    const first = await waitFor(
      async () => {
        const p = await pod();
        // Not Ready: the pod's own account (restarts, last exit, rtcd's last
        // words) becomes the timeout's message.
        if (!ready(p)) {
          const restarts = p.status.containerStatuses?.[0]?.restartCount ?? 0;
          const logs = restarts
            ? (await tryKubectl(["logs", "-n", ns.name, p.metadata.name, "--previous", "--tail", "5"])).stdout
            : "";
          throw new Error(`not Ready: ${JSON.stringify(p.status.containerStatuses ?? [])} ${logs}`);
        }
        return p;
      },
      { timeoutMs: 180_000, intervalMs: 1000, what: "the direct-mode rtcd pod Ready" },
    );
    const envNames = (first.spec.containers[0]!.env ?? []).map((e) => e.name);
    expect(envNames, "direct mode leaves the store where the image puts it").not.toContain(
      "RTCD_STORE_DATASOURCE",
    );
    expect(first.status.containerStatuses?.[0]?.restartCount, "Ready without restarting").toBe(0);
    // The image came from the cluster's registry, pinned by its digest:
    // kubelet pulled that reference, and containerd runs that digest.
    const ref = `${image.repository}:${image.tag}`;
    expect(first.spec.containers[0]!.image).toBe(ref);
    expect(first.status.containerStatuses?.[0]?.imageID).toBe(
      `${image.repository}@${image.tag.split("@")[1]}`,
    );
    const pulls = (await registryPullEvents(ns.name)).filter((e) => e.pod === first.metadata.name);
    expect(pulls.map((e) => e.reason)).toEqual(expect.arrayContaining(["Pulling", "Pulled"]));
    expect(pulls.find((e) => e.reason === "Pulling")?.message).toBe(`Pulling image "${ref}"`);
    const pulled = pulls.find((e) => e.reason === "Pulled")?.message ?? "";
    expect(pulled.startsWith(`Successfully pulled image "${ref}"`), pulled).toBe(true);
    const node = nodes.find((n) => n.name === first.spec.nodeName)!;
    const proc = nodeProcess(node, "/app/rtcd/dist/main.js");
    expect(proc.uid).toBe(65532);
    expect(proc.rootReadOnly).toBe(true);

    // A client registers; rtcd then crashes and its container restarts in the same pod.
    const ip = first.status.podIP!;
    (await connectPlugin(ip, API_PORT, "plugin-direct")).ws.close();
    process.kill(proc.pid, "SIGKILL");
    const again = await waitFor(
      async () => {
        const p = await pod().catch(() => undefined);
        return p && (p.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && ready(p) ? p : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000, what: "rtcd restarted in the same pod and Ready again" },
    );
    expect(again.metadata.name).toBe(first.metadata.name);
    // The registration survived: the same client is refused as a new one and logs in with its key.
    const reg = await fetch(`http://${ip}:${API_PORT}/register`, {
      method: "POST",
      body: JSON.stringify({ clientID: "plugin-direct", authKey: RTCD_AUTH_KEY }),
    });
    expect(reg.status, `re-registering after the restart: ${await reg.text()}`).toBe(400);
    const login = await fetch(`http://${ip}:${API_PORT}/login`, {
      method: "POST",
      body: JSON.stringify({ clientID: "plugin-direct", authKey: RTCD_AUTH_KEY }),
    });
    expect(login.status, "the registered client logs in after the restart").toBe(200);

    const call = await WatchedCall.start(ip, API_PORT, "direct");
    await call.flows(100);
    expect(call.dropped, call.describe()).toBe(false);
    await call.end();
  });
});
