// The dashboard's "Autoscaling and media probe" row on a real Prometheus
// scraping the real operator: the operator runs against the real API server
// with an autoscaled MattermostRTCD whose media probe is on; its kwok pod's
// rtcd is a real rtcd process (reached through --rtcd-url-template for the
// autoscaler's samples and --testing-pod-address-file for the synthetic
// call). Prometheus scrapes rtcd with the labels its ServiceMonitor gives and
// the operator as the chart's PodMonitor does (honor_labels). Every query of
// the row, with the dashboard's variables set to the values Grafana offers
// from rtcd's series, returns data through Prometheus's HTTP API. kwok pods
// carry no calls, so some gauges are 0: 0 is data, no series is not.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@mattermost-rtcd/e2e/cluster";
import {
  getOrUndefined,
  installCrd,
  instancePods,
  kubectl,
  cr,
  startOperator,
  useCluster,
  useNamespace,
  waitFor,
  type Obj,
  type OperatorProcess,
} from "@mattermost-rtcd/e2e/testing";
import {
  OPERATOR_ROW,
  dashboardQueries,
  fillVariables,
} from "@mattermost-rtcd/rtcd/testing/dashboard-queries";
import { startRtcd, stopRtcd, tail, type Running } from "@mattermost-rtcd/rtcd/testing/procs";
import { Prometheus, type Sample } from "@mattermost-rtcd/rtcd/testing/prometheus";

const ns = useNamespace("operator-dashboard");
installCrd();
const NAME = "observed";
// Where the chart installs the operator; its PodMonitor names the job
// <namespace>/<fullname>, as the Prometheus Operator does.
const OPERATOR_NS = "calls-system";
const OPERATOR_POD = "mattermost-rtcd-operator-5d8c7b9f4-x2x7q";
const INTERVAL_S = 5;
// $__rate_interval as Grafana picks it for a short range with 1 s scrapes.
const RATE_INTERVAL = "1m";
const dir = mkdtempSync(join(tmpdir(), "prometheus-dashboard-"));
const addressFile = join(dir, "pods.json");
let op: OperatorProcess | undefined;
let rtcd: Running | undefined;
let prom: Prometheus | undefined;
let podName = "";

const hasValue = (rows: Sample[]) => rows.some((s) => Number.isFinite(Number(s.value[1])));

beforeAll(async () => {
  writeFileSync(addressFile, "{}");
  const c = await useCluster();
  // The API port is the CR's: the autoscaler reads http://127.0.0.1:{port}, which is this rtcd.
  const apiPort = await freePort();
  op = await startOperator(
    c.kubeconfig,
    [
      "--namespace",
      ns.name,
      "--testing-pod-address-file",
      addressFile,
      "--rtcd-url-template",
      "http://127.0.0.1:{port}",
      "--autoscale-interval",
      "1s",
      "--retry-max-delay",
      "2s",
    ],
    c.env,
  );
  await waitFor(async () => op!.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });

  await kubectl(["apply", "-n", ns.name, "-f", "-"], {
    input: cr(NAME, {
      apiPort,
      // One pod, always: the address file names it, and rtcd's host ports
      // would let a second one start only on another kwok node.
      // CPU as well as sessions: the CPU line of "load against target" is
      // a percent of the CPU limit, and absent (not 0) without one.
      autoscaling: {
        minReplicas: 1,
        maxReplicas: 1,
        targetSessionsPerPod: 10,
        targetCPUPercent: 70,
        bufferPods: 0,
      },
      resources: { limits: { cpu: "1" } },
      probes: { media: { intervalSeconds: INTERVAL_S, timeoutSeconds: 3 } },
    }),
  });
  const secret = await waitFor(async () => getOrUndefined<Obj>(ns.name, "secret", `${NAME}-admin`), {
    timeoutMs: 30_000,
    what: "the generated admin Secret",
  });
  const admin = Buffer.from(secret.data!["ADMIN_SECRET_KEY"]!, "base64").toString();
  rtcd = await startRtcd({
    impl: "ours",
    realBinary: "",
    dir: join(dir, "rtcd"),
    name: "rtcd",
    apiPort,
    env: {
      RTCD_API_SECURITY_ENABLEADMIN: "true",
      RTCD_API_SECURITY_ADMINSECRETKEY: admin,
    },
  });
  const pod = await waitFor(
    async () =>
      (await instancePods<Obj>(ns.name, NAME)).find(
        (p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp,
      ),
    { timeoutMs: 60_000, what: "the instance's pod" },
  );
  podName = pod.metadata.name;
  writeFileSync(addressFile, JSON.stringify({ [podName]: rtcd.url }));

  prom = await Prometheus.start({
    // rtcd as the operator's ServiceMonitor labels it: the API Service is named after the instance.
    job: NAME,
    target: new URL(rtcd.url).host,
    labels: { namespace: ns.name, service: NAME, pod: podName },
    ruleFiles: [],
    more: [
      {
        job: `${OPERATOR_NS}/mattermost-rtcd-operator`,
        target: `127.0.0.1:${op.metricsPort}`,
        labels: { namespace: OPERATOR_NS, pod: OPERATOR_POD },
        honorLabels: true,
      },
    ],
  });
}, 180_000);

afterAll(async () => {
  await prom?.stop();
  if (rtcd) await stopRtcd(rtcd);
  const code = await op?.stop();
  expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
});

/** The values Grafana's variable queries offer (label_values(rtcd_draining{...}, label)), from rtcd's series. */
async function variableValues(label: string, match: string): Promise<string[]> {
  const rows = await prom!.query(`rtcd_draining{${match}}`);
  return [...new Set(rows.map((r) => r.metric[label]).filter((v): v is string => v !== undefined))];
}

describe("the dashboard's operator row on a real Prometheus scraping the real operator", () => {
  it("every query returns data for the instance picked in $namespace, $instance and $pod", async () => {
    // The dashboard's variables come from rtcd's series; picking this
    // instance there must select the operator's series for it.
    const [namespace, instance, pod] = await waitFor(
      async () => {
        const nss = await variableValues("namespace", "");
        const services = await variableValues("service", `namespace=~"${ns.name}"`);
        const pods = await variableValues("pod", `namespace=~"${ns.name}", service=~"${NAME}"`);
        return nss.includes(ns.name) && services.length > 0 && pods.length > 0
          ? ([ns.name, services[0]!, pods[0]!] as const)
          : undefined;
      },
      { timeoutMs: 30_000, what: "Prometheus to offer rtcd's namespace, instance and pod" },
    );
    expect([instance, pod]).toEqual([NAME, podName]);

    const queries = dashboardQueries()
      .filter((q) => q.row === OPERATOR_ROW)
      .map((q) => ({ ...q, expr: fillVariables(q.expr, RATE_INTERVAL, { namespace, instance, pod }) }));
    expect(queries.length).toBeGreaterThanOrEqual(10);
    const empty = new Map<string, string>();
    await waitFor(
      async () => {
        empty.clear();
        for (const q of queries)
          if (!hasValue(await prom!.query(q.expr))) empty.set(`${q.panel} ${q.refId}`, q.expr);
        return empty.size === 0;
      },
      // Two probe intervals, so the call-time histogram has increased.
      { timeoutMs: 90_000, intervalMs: 2_000, what: "every query of the operator's row to return a value" },
    ).catch(async (err: unknown) => {
      const metrics = (await op!.metrics().catch(() => ""))
        .split("\n")
        .filter((l) => l.startsWith("rtcd_operator_"));
      throw new Error(
        `${String(err)}\nno data from:\n${[...empty].map(([k, v]) => `${k}: ${v}`).join("\n")}\n` +
          `the operator's rtcd_operator_* series:\n${metrics.join("\n")}\n` +
          `operator log:\n${op!.logs.slice(-15).join("\n")}\nrtcd log:\n${tail(rtcd!.logFile, 10)}`,
        { cause: err },
      );
    });

    // The synthetic call carried audio both ways over both transports, and
    // the autoscaler sampled the pod: the row shows facts, not just series.
    const success = await prom!.query(
      `rtcd_operator_media_probe_success{namespace="${ns.name}", name="${NAME}", pod="${podName}"}`,
    );
    expect(success.map((s) => [s.metric["transport"], s.value[1]]).sort()).toEqual([
      ["tcp", "1"],
      ["udp", "1"],
    ]);
    const ready = await prom!.query(
      `rtcd_operator_autoscaler_ready_pods{namespace="${ns.name}", name="${NAME}"}`,
    );
    expect(ready.map((s) => s.value[1])).toEqual(["1"]);
  });

  it("scraped with honor_labels, the operator's series keep the instance's namespace", async () => {
    // What the PodMonitor's honorLabels is for: without it the target's
    // namespace (the operator pod's) wins and the instance's becomes
    // exported_namespace (the probe's pod exported_pod), which the
    // dashboard does not read. Seen: with honor_labels off, every
    // per-instance query of the row returns nothing.
    const rows = await prom!.query(`rtcd_operator_autoscaler_desired_replicas{name="${NAME}"}`);
    expect(rows.map((r) => [r.metric["namespace"], r.metric["exported_namespace"]])).toEqual([
      [ns.name, undefined],
    ]);
    // The same for the probe's pod label: the rtcd pod, not the operator's.
    const probed = await prom!.query(`rtcd_operator_media_probe_success{name="${NAME}"}`);
    expect(new Set(probed.map((r) => `${r.metric["pod"]} ${r.metric["exported_pod"]}`))).toEqual(
      new Set([`${podName} undefined`]),
    );
  });
});
