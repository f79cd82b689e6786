// The autoscaler against the real API server, scheduler and controller-manager
// (kwok nodes): what a platform team relies on when it turns autoscaling on.
// kwok pods run no rtcd, so a small HTTP server in this test serves each pod's
// /system and /metrics (a test double beside the real cluster; the operator
// reaches it through --rtcd-url-template, its injectable target resolution).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MattermostRTCD } from "@mattermost-rtcd/operator/api";
import {
  READY_TIMEOUT_MS,
  cr,
  getJson,
  getOrUndefined,
  instancePods,
  kubectl,
  quietFor,
  useNamespace,
  useOperator,
  waitFor,
  type Obj,
} from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-autoscale");
const WINDOW_S = 20;
const NAME = "fleet";

/** Sessions each pod reports; pods not listed report `rest`. */
const load = { sessions: new Map<string, number>(), rest: 0 };
let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const [, , pod, what] = (req.url ?? "").split("/");
    const sessions = load.sessions.get(pod ?? "") ?? load.rest;
    if (what === "system") {
      res.setHeader("Content-Type", "application/json");
      // An idle CPU on rtcd's scale (elapsed / idle CPU-seconds of a 1-CPU budget).
      res.end(JSON.stringify({ cpu_load: 1 }));
    } else if (what === "metrics") {
      res.end(
        "# TYPE rtcd_rtc_sessions_total gauge\n" + `rtcd_rtc_sessions_total{groupID="g"} ${sessions}\n`,
      );
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const handle = useOperator(
  () => [ns.name],
  [
    "--autoscale-interval",
    "1s",
    // {port} is the CR's spec.apiPort, which the test sets to its server's
    // port (known only once the server listens, after these args are built).
    "--rtcd-url-template",
    "http://127.0.0.1:{port}/{namespace}/{pod}",
  ],
);

const deploymentReplicas = async () =>
  (await getOrUndefined<Obj>(ns.name, "deployment", NAME))?.spec?.replicas as number | undefined;

const livePods = async () =>
  (await instancePods(ns.name, NAME)).filter(
    (p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp,
  );

const status = async () =>
  (await getOrUndefined<MattermostRTCD>(ns.name, "mattermostrtcd", NAME))?.status?.autoscaling;

describe("autoscaling a MattermostRTCD on rtcd's load", () => {
  it("sizes the fleet from sessions: up at once, down only after the window, emptiest pods first", async () => {
    expect(handle.op).toBeDefined();
    await kubectl(["apply", "-n", ns.name, "-f", "-"], {
      input: cr(NAME, {
        apiPort: port,
        // Three kwok nodes, and rtcd's host ports allow one pod per node.
        autoscaling: {
          minReplicas: 1,
          maxReplicas: 3,
          targetSessionsPerPod: 10,
          bufferPods: 1,
          scaleDownStabilizationSeconds: WINDOW_S,
        },
      }),
    });

    // Idle: no session needs a pod, the buffer asks for one.
    const idle = await waitFor(
      async () => {
        const s = await status();
        return s?.readyPods === 1 && s.sampledPods === 1 ? s : undefined;
      },
      { timeoutMs: READY_TIMEOUT_MS, what: "1 ready, sampled pod in status.autoscaling" },
    );
    expect(await deploymentReplicas()).toBe(1);
    expect(idle).toMatchObject({ desiredReplicas: 1, sessions: 0, loadPercent: 0, headroomSessions: 10 });

    // 15 sessions on the pod: 15 / 10 per pod = 2, plus 1 buffer.
    const first = (await livePods()).map((p) => p.metadata.name);
    expect(first).toHaveLength(1);
    load.sessions.set(first[0]!, 15);
    const t0 = Date.now();
    await waitFor(async () => (await deploymentReplicas()) === 3, {
      timeoutMs: 60_000,
      what: "the Deployment to grow to 3 replicas",
    });
    const upAfterMs = Date.now() - t0;
    const busy = await waitFor(
      async () => {
        const s = await status();
        return s?.readyPods === 3 && s.sampledPods === 3 ? s : undefined;
      },
      { timeoutMs: READY_TIMEOUT_MS, what: "3 ready, sampled pods" },
    );
    expect(busy).toMatchObject({ desiredReplicas: 3, sessions: 15, loadPercent: 50, headroomSessions: 15 });
    expect(busy.reason).toMatch(/sessions per pod/);

    // The load falls to 3 sessions, on one of the NEW pods: left to itself the
    // ReplicaSet controller removes the most recently ready pods first, so
    // only the deletion cost keeps this one.
    const added = (await livePods()).map((p) => p.metadata.name).filter((n) => !first.includes(n));
    const keeper = added.sort().at(-1)!;
    load.sessions.clear();
    load.sessions.set(keeper, 3);
    const dropped = Date.now();
    await quietFor(WINDOW_S * 1000 - 5000, {
      intervalMs: 1000,
      check: async () => {
        expect(await deploymentReplicas(), "replicas inside the scale-down window").toBe(3);
      },
    });
    // 3 sessions: 1 pod, plus 1 buffer.
    await waitFor(async () => (await deploymentReplicas()) === 2, {
      timeoutMs: 60_000,
      what: "the Deployment to shrink to 2 replicas after the window",
    });
    const downAfterMs = Date.now() - dropped;
    // The last busy sample is at most one interval (1 s) older than the drop.
    expect(downAfterMs).toBeGreaterThanOrEqual((WINDOW_S - 1) * 1000);

    // Deletion costs were set from sessions before the scale-in, and the pod
    // holding sessions is the one that stays.
    const remaining = await waitFor(
      async () => {
        const pods = await livePods();
        return pods.length === 2 ? pods : undefined;
      },
      { timeoutMs: 60_000, what: "2 pods left" },
    );
    expect(remaining.map((p) => p.metadata.name)).toContain(keeper);
    const keeperPod = remaining.find((p) => p.metadata.name === keeper)!;
    expect(keeperPod.metadata.annotations?.["controller.kubernetes.io/pod-deletion-cost"]).toBe("3");

    const events = await getJson<{ items: { reason: string; message: string }[] }>([
      "get",
      "events",
      "-n",
      ns.name,
      "--field-selector",
      `involvedObject.name=${NAME}`,
      "-o",
      "json",
    ]);
    const reasons = events.items.map((e) => `${e.reason}: ${e.message}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ScaledUp: 1 -> 3 replicas: scale up/),
        expect.stringMatching(/^ScaledDown: 3 -> 2 replicas: scale down/),
      ]),
    );
    const metrics = await handle.op!.metrics();
    expect(metrics).toMatch(
      new RegExp(`rtcd_operator_autoscaler_desired_replicas\\{namespace="${ns.name}",name="${NAME}"\\} 2`),
    );
    process.stderr.write(
      `[autoscale] scale-up seen after ${upAfterMs} ms; scale-down after ${downAfterMs} ms (window ${WINDOW_S} s)\n`,
    );
  }, 400_000);
});
