// rtcd on real nodes: the chart in operator mode, installed from the
// cluster's OCI registry, runs our images (built from their Dockerfiles,
// pulled by digest from that registry) on two real kubelets, real WebRTC peers on
// the host call through the node's address (HostNetwork, the default), and
// every disruption a cluster does to a pod (rolling update, pod deletion,
// node drain) happens with a call in progress. A call is dropped when its
// WebSocket or a session is lost or media stops for more than 3 s; the file
// prints the count (must be 0) and each scenario's duration.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import type { RealNode } from "../../cluster/real-node/config.ts";
import {
  applyCrd,
  getJson,
  helm,
  quietFor,
  kubectl,
  tryHelm,
  tryKubectl,
  useCluster,
  useNamespace,
  waitFor,
} from "../../src/testing/index.ts";
import {
  ensureRealNodes,
  nodeProcess,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeSkipReason,
  serviceIps,
  WatchedCall,
  podLog,
  realNodesReleased,
} from "../../src/testing/real-node.ts";
import { registryChart, registryImage, tagInRegistry, type OciChart } from "../../src/testing/registry.ts";
import {
  headlessRtcdService,
  rtcdPods as rtcdPodsIn,
  servingPod as servingPodIn,
  type PodInfo,
} from "../../src/testing/rtcd-pods.ts";

const skip = realNodeSkipReason();
if (skip) process.stderr.write(`[real-node e2e] skipped: ${skip}\n`);

const API_PORT = 8045;
const RELEASE = "rtcd";
const ns = skip ? { name: "unused" } : useNamespace("real-node");
const calls: WatchedCall[] = [];
const timings: { scenario: string; seconds: number; detail: string }[] = [];
let nodes: RealNode[] = [];
let service = "";
let valuesFile = "";
let chart: OciChart | undefined;
let rtcdImage: ReturnType<typeof registryImage> | undefined;

const rtcdPods = () => rtcdPodsIn(ns.name);
const servingPod = (not?: string): Promise<PodInfo> => servingPodIn(ns.name, service, not);

/** `helm upgrade --install` of the chart in the cluster's registry, as a user installs it. */
async function install(extra: string[] = []): Promise<void> {
  await helm(
    [
      "upgrade",
      "--install",
      RELEASE,
      chart!.ref,
      "--version",
      chart!.version,
      "--plain-http",
      "-n",
      ns.name,
    ].concat(["-f", valuesFile, ...extra, "--wait", "--timeout", "5m"]),
  );
}

/**
 * One disruption with a call in progress on the serving pod: the call keeps
 * flowing on the old pod, the old pod leaves DNS at once, a new call lands on
 * the new pod, and the old pod exits only once its call ends.
 */
async function withActiveCall(scenario: string, disrupt: (old: PodInfo) => Promise<void>): Promise<PodInfo> {
  const mine: WatchedCall[] = [];
  try {
    return await activeCallThrough(scenario, disrupt, mine);
  } catch (err) {
    // End this scenario's calls now: a pod drains until its last call ends,
    // and one left up holds its node's ports through every later test.
    for (const c of mine) await c.end().catch(() => undefined);
    throw err;
  }
}

/** A call on `pod`, or an error that carries the pod's own log. */
async function startCall(pod: PodInfo, name: string, mine: WatchedCall[]): Promise<WatchedCall> {
  try {
    const call = await WatchedCall.start(pod.ip, API_PORT, name);
    calls.push(call);
    mine.push(call);
    return call;
  } catch (err) {
    throw new Error(
      `${name} on ${pod.name} (${pod.ip}): ${(err as Error).message}\n${pod.name}'s log:\n${await podLog(ns.name, pod.name, 40)}`,
      {
        cause: err,
      },
    );
  }
}

async function activeCallThrough(
  scenario: string,
  disrupt: (old: PodInfo) => Promise<void>,
  mine: WatchedCall[],
): Promise<PodInfo> {
  const t0 = Date.now();
  const old = await servingPod();
  const call = await startCall(old, `${scenario}-old`, mine);
  const tDisrupt = Date.now();
  await disrupt(old);
  await waitFor(async () => (await rtcdPods()).find((p) => p.name === old.name && p.terminating), {
    timeoutMs: 120_000,
    what: `${old.name} terminating`,
  });
  const tTerm = Date.now();
  await waitFor(async () => !(await serviceIps(service, ns.name)).includes(old.ip), {
    timeoutMs: 5000,
    intervalMs: 100,
    what: `${old.ip} gone from the DNS of ${service}`,
  });
  const dnsGoneMs = Date.now() - tTerm;
  const dnsGoneSinceDisruptMs = Date.now() - tDisrupt;
  await call.flows(100);
  const fresh = await servingPod(old.name);
  expect(fresh.ip).not.toBe(old.ip);
  expect(fresh.node).not.toBe(old.node);
  // A new call: where DNS sends the plugin now, i.e. the new pod.
  const [target] = await serviceIps(service, ns.name);
  expect(target).toBe(fresh.ip);
  const next = await startCall(fresh, `${scenario}-new`, mine);
  // The old pod keeps running while its call is up (the grace is 18000 s):
  // nothing may stop it for a while, checked all along.
  await quietFor(8000, {
    intervalMs: 1000,
    check: async () => {
      const still = (await rtcdPods()).find((p) => p.name === old.name);
      expect(still?.running, `${old.name} must keep running while its call is up`).toBe(true);
    },
  });
  await call.flows(50);
  expect(call.dropped, call.describe()).toBe(false);
  // Not earlier: still running right up to the end of its call.
  expect((await rtcdPods()).find((p) => p.name === old.name)?.running).toBe(true);
  const tEnd = Date.now();
  await call.end();
  await waitFor(async () => !(await rtcdPods()).some((p) => p.name === old.name), {
    timeoutMs: 90_000,
    intervalMs: 250,
    what: `${old.name} gone after its last call ended`,
  });
  const exitMs = Date.now() - tEnd;
  await next.flows(50);
  expect(next.dropped, next.describe()).toBe(false);
  await next.end();
  const seconds = (Date.now() - t0) / 1000;
  timings.push({
    scenario,
    seconds,
    detail: `old pod out of DNS ${dnsGoneSinceDisruptMs} ms after the disruption was issued (${dnsGoneMs} ms after the test saw it terminating); exited ${(exitMs / 1000).toFixed(1)} s after its call ended; old call ${call.packets} packets, max gap ${call.maxGapMs} ms`,
  });
  return fresh;
}

describe.skipIf(!!skip)("rtcd on real nodes (operator mode, HostNetwork)", () => {
  beforeAll(async () => {
    await useCluster();
    // On a cold cache this builds kubelet, CoreDNS and the images (about 25
    // minutes on a loaded 2-core machine, hence the hook's timeout); warm, seconds.
    nodes = await ensureRealNodes(2);
    await applyCrd();
    chart = await registryChart();
    rtcdImage = registryImage("rtcd");
    const dir = mkdtempSync(join(tmpdir(), "real-node-"));
    valuesFile = join(dir, "values.yaml");
    const onRealNodes = { [REAL_NODE_LABEL]: "true" };
    const tolerations = [{ ...REAL_NODE_TAINT, operator: "Equal" }];
    writeFileSync(
      valuesFile,
      stringify({
        image: rtcdImage,
        nodeSelector: onRealNodes,
        tolerations,
        configuration: {
          replicas: 1,
          environmentVariables: { RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true" },
          readinessProbeInitialDelaySeconds: 1,
          readinessProbePeriodSeconds: 2,
          livenessProbeInitialDelaySeconds: 5,
        },
        tests: {
          image: registryImage("curl"),
          nodeSelector: onRealNodes,
          tolerations,
        },
        operator: {
          enabled: true,
          replicas: 1,
          image: registryImage("operator"),
          nodeSelector: onRealNodes,
          tolerations,
          // The CRD is applied above (shared with the other operator tests).
          crds: { install: false },
        },
      }),
    );
  }, 2_700_000);

  afterAll(async () => {
    for (const c of calls) await c.end().catch(() => undefined);
    const dropped = calls.filter((c) => c.dropped);
    const lines = timings.map(
      (t) => `  ${t.scenario.padEnd(16)} ${t.seconds.toFixed(1).padStart(6)} s  ${t.detail}`,
    );
    process.stdout.write(
      `\n[real-node e2e] calls: ${calls.length}, dropped: ${dropped.length}\n${lines.join("\n")}\n` +
        dropped.map((c) => `  DROPPED ${c.describe()}\n`).join(""),
    );
    for (const n of nodes) await tryKubectl(["uncordon", n.name]);
    await tryHelm(["uninstall", RELEASE, "-n", ns.name, "--wait", "--timeout", "2m"]);
    // helm waits for its own objects, not for the operator's rtcd pods, which
    // hold the nodes' ports until they have exited.
    await realNodesReleased(ns.name);
  });

  test("helm install (operator mode): rtcd pods Ready through their real probes, as non-root on a read-only root", async () => {
    const t0 = Date.now();
    await install();
    // helm --wait covers the release's own objects (the operator); the rtcd
    // Services are the operator's, made once it has reconciled the resource:
    // wait for the headless one rather than race it (a warm node lost that
    // race in CI: install returned after 2.6 s).
    service = await headlessRtcdService(ns.name);
    const pod = await servingPod();
    const pods = await rtcdPods();
    expect(pods.length).toBeGreaterThanOrEqual(1);
    // The operator passes the chart's image through: the registry's, pinned by digest.
    expect(pod.image).toBe(`${rtcdImage!.repository}:${rtcdImage!.tag}`);
    const spec = await getJson<{
      spec: { hostNetwork?: boolean; containers: { readinessProbe: { httpGet: { path: string } } }[] };
      status: { hostIP: string };
    }>(["get", "pod", pod.name, "-n", ns.name]);
    expect(spec.spec.hostNetwork).toBe(true);
    expect(spec.spec.containers[0]!.readinessProbe.httpGet.path).toBe("/readyz");
    const node = nodes.find((n) => n.name === pod.node)!;
    expect(pod.ip).toBe(node.ip);
    // The processes themselves, as the kernel sees them.
    // The image runs the JavaScript built from rtcd's sources, not the .ts
    // (Node's type stripper would keep about 30 MiB for the process's life).
    const rtcd = nodeProcess(node, "/app/rtcd/dist/main.js");
    expect(rtcd.uid).toBe(65532);
    expect(rtcd.rootReadOnly).toBe(true);
    const rssKiB = (pid: number) =>
      Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    process.stderr.write(
      JSON.stringify({
        msg: "rtcd's Node process on a real node",
        rssMiB: +(rssKiB(rtcd.pid) / 1024).toFixed(1),
      }) + "\n",
    );
    const opNode = nodes.find((n) => {
      try {
        nodeProcess(n, "/app/operator/dist/main.js");
        return true;
      } catch {
        return false;
      }
    });
    expect(opNode, "the operator runs on a real node").toBeDefined();
    const op = nodeProcess(opNode!, "/app/operator/dist/main.js");
    expect(op.uid).not.toBe(0);
    expect(op.rootReadOnly).toBe(true);
    // The operator's own synthetic call (its image: one bundle on a FROM
    // scratch root, werift included) carries audio to the pod both ways over
    // UDP and over TCP: MediaReachable is on by default.
    const media = await waitFor(
      async () => {
        const list = await getJson<{
          items: { status?: { conditions?: { type: string; status: string; message: string }[] } }[];
        }>(["get", "mattermostrtcds", "-n", ns.name]);
        const c = list.items[0]?.status?.conditions?.find((x) => x.type === "MediaReachable");
        return c && c.status !== "Unknown" ? c : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000, what: "the MediaReachable condition decided" },
    );
    expect(media, "MediaReachable from the in-cluster operator").toMatchObject({ status: "True" });
    timings.push({
      scenario: "install",
      seconds: (Date.now() - t0) / 1000,
      detail: `rtcd Ready on ${pod.node}`,
    });
  });

  test("helm test passes (curl to /version through the headless Service)", async () => {
    // The hook pod is deleted on success (hook-delete-policy), so its logs are
    // gone; helm reports the phase, and the pod exits non-zero unless rtcd's
    // /version answer carries buildVersion.
    const out = await helm(["test", RELEASE, "-n", ns.name, "--timeout", "3m"]);
    expect(out).toMatch(/test-version[\s\S]*Phase:\s+Succeeded/);
  });

  test("a call between real WebRTC peers on the host reaches the pod on its node's address; media flows", async () => {
    const t0 = Date.now();
    const pod = await servingPod();
    const call = await WatchedCall.start(pod.ip, API_PORT, "basic");
    calls.push(call);
    await call.flows(150);
    expect(call.dropped, call.describe()).toBe(false);
    await call.end();
    timings.push({ scenario: "call", seconds: (Date.now() - t0) / 1000, detail: `${call.packets} packets` });
  });

  test("rolling update to a new image tag with an active call", async () => {
    // The same image under a new tag in the registry, as a release would push one.
    const next = await tagInRegistry(rtcdImage!, "local-2");
    const fresh = await withActiveCall("rolling-update", async () => {
      // Not --wait: the old pod drains for as long as its call lasts.
      await helm(
        ["upgrade", RELEASE, chart!.ref, "--version", chart!.version, "--plain-http", "-n", ns.name].concat([
          "-f",
          valuesFile,
          "--set",
          `image.tag=${next.tag}`,
        ]),
      );
    });
    expect(fresh.image).toBe(`${next.repository}:${next.tag}`);
  });

  test("kubectl delete pod with an active call", async () => {
    await withActiveCall("delete-pod", async (old) => {
      await kubectl(["delete", "pod", old.name, "-n", ns.name, "--wait=false"]);
    });
  });

  test("node drain with an active call", async () => {
    let drain: Promise<number> | undefined;
    const c = await useCluster();
    await withActiveCall("node-drain", async (old) => {
      drain = new Promise((resolve) => {
        const child = spawn(
          "kubectl",
          ["drain", old.node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=300s"],
          { env: { ...process.env, ...c.env }, stdio: "ignore" },
        );
        child.on("exit", (code) => resolve(code ?? 1));
      });
    });
    // The drain finishes once the old pod has left, i.e. after its call.
    expect(await drain).toBe(0);
  });

  test("control: a pod killed without draining drops its call, and the watcher sees it", async () => {
    // Proves the drop detector can fail: the same call, but rtcd gets no time to drain.
    const pod = await servingPod();
    const call = await WatchedCall.start(pod.ip, API_PORT, "control-kill");
    await call.flows(50);
    expect(call.dropped).toBe(false);
    await kubectl(["delete", "pod", pod.name, "-n", ns.name, "--grace-period=1", "--wait=false"]);
    await waitFor(async () => call.dropped, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: "the killed call seen as dropped",
    });
    process.stdout.write(`[real-node e2e] control (not counted): ${call.describe()}\n`);
    await call.end();
  });

  test("no call was dropped", () => {
    const dropped = calls.filter((c) => c.dropped);
    expect(dropped.map((c) => c.describe())).toEqual([]);
    expect(calls.length).toBe(7);
  });
});
