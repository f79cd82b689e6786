// NodePort on a real kubelet: rtcd in its pod's own network, reached only
// through the `<name>-rtc` Service's node port, which kube-proxy translates
// to the pod's RTC port. rtcd must advertise the node port
// (RTCD_RTC_ICEHOSTPORTOVERRIDE), not the port it listens on: our rtcd once
// announced the container's port there (mediasoup announces its own), and
// clients sent media to a port nothing answered. The operator's synthetic
// call, a real WebRTC client, then reaches the pod over UDP and over TCP
// through the node port: MediaReachable is True.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  applyCrd,
  condition,
  cr,
  getOrUndefined,
  instancePods,
  kubectl,
  startOperator,
  useCluster,
  useNamespace,
  waitCondition,
  waitFor,
  type OperatorProcess,
} from "../../src/testing/index.ts";
import { freeNodePorts } from "../../src/testing/ports.ts";
import {
  ensureRealNodes,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeSkipReason,
  realNodesReleased,
} from "../../src/testing/real-node.ts";
import type { RealNode } from "../../cluster/real-node/config.ts";
import { registryImage } from "../../src/testing/registry.ts";

const skip = realNodeSkipReason();
const NAME = "rtcd-nodeport";
const RTC_PORT = 8443;
const ns = skip ? { name: "unused" } : useNamespace("nodeport-real");
let op: OperatorProcess | undefined;
let node: RealNode | undefined;
let routed = false;

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string; hostNetwork?: boolean };
}
interface Service {
  spec: { type: string; ports: { protocol: string; port: number; nodePort?: number }[] };
}

describe.skipIf(!!skip)("NodePort on a real node", () => {
  beforeAll(async () => {
    const c = await useCluster();
    [node] = (await ensureRealNodes(1)) as [RealNode];
    // The operator runs on this machine, and registers with and probes each
    // pod at its pod IP, as it would from its own pod: the machine reaches
    // the nodes' addresses but not their pod networks, so for this file it
    // routes the node's pod subnet through the node (removed in afterAll).
    // Media does not use this route: it goes to the node's address.
    execFileSync("ip", ["route", "replace", node!.podCidr, "via", node!.ip]);
    routed = true;
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
    if (routed) execFileSync("ip", ["route", "del", node!.podCidr, "via", node!.ip]);
    await realNodesReleased(ns.name);
    expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
  });

  test("the synthetic call reaches rtcd through the node port, over UDP and over TCP", async () => {
    const [nodePort] = (await freeNodePorts(1)) as [number];
    await kubectl(["apply", "-n", ns.name, "-f", "-"], {
      input: cr(NAME, {
        replicas: 1,
        rtcPort: RTC_PORT,
        image: registryImage("rtcd"),
        // One node, whose address every client is told (no STUN here).
        nodeSelector: { [REAL_NODE_LABEL]: "true", "kubernetes.io/hostname": node!.name },
        tolerations: [{ ...REAL_NODE_TAINT, operator: "Equal" }],
        networking: { mode: "NodePort", nodePort },
        rtcd: { iceHostOverride: { host: node!.ip }, iceServers: [] },
        probes: { media: { intervalSeconds: 10, timeoutSeconds: 5 } },
      }),
    });
    const diagnose = () =>
      op!.logs
        .filter((l) => l.includes("media probe"))
        .slice(-6)
        .join("\n");
    const reachable = await waitCondition(
      ns.name,
      NAME,
      "MediaReachable",
      "True",
      "AllPodsReachable",
      300_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${diagnose()}`, { cause: err });
    });
    expect(condition(reachable, "MediaReachable")?.status).toBe("True");

    // What made it a NodePort path: the pod in its own network namespace,
    // the Service's node port for both transports, and rtcd told to
    // advertise that port.
    const pods = (await instancePods<Pod>(ns.name, NAME)).filter((p) => !p.metadata.deletionTimestamp);
    expect(pods).toHaveLength(1);
    expect(pods[0]!.spec.hostNetwork ?? false).toBe(false);
    expect(pods[0]!.spec.nodeName).toBe(node!.name);
    const svc = await getOrUndefined<Service>(ns.name, "service", `${NAME}-rtc`);
    expect(svc?.spec.type).toBe("NodePort");
    expect(
      svc!.spec.ports
        .filter((p) => p.nodePort === nodePort)
        .map((p) => p.protocol)
        .sort(),
    ).toEqual(["TCP", "UDP"]);
    const maps = JSON.parse(await kubectl(["get", "configmaps", "-n", ns.name, "-o", "json"])) as {
      items: { data?: Record<string, string> }[];
    };
    const advertised = maps.items.map((m) => m.data?.["RTCD_RTC_ICEHOSTPORTOVERRIDE"]).filter(Boolean);
    expect(advertised, "RTCD_RTC_ICEHOSTPORTOVERRIDE in the instance's config").toEqual([String(nodePort)]);
    const metrics = await op!.metrics();
    for (const transport of ["udp", "tcp"])
      expect(metrics).toContain(
        `rtcd_operator_media_probe_success{namespace="${ns.name}",name="${NAME}",pod="${pods[0]!.metadata.name}",transport="${transport}"} 1`,
      );
  });
});
