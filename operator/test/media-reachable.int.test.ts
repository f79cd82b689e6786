// MediaReachable end to end through the operator, on the real API server:
// the operator probes each ready pod's rtcd (a real rtcd process standing in
// for the kwok pod, reached through --testing-pod-address-file), writes the
// condition, the metric and events on transitions. UDP to that rtcd's RTC
// port is then dropped by an nftables rule (a table of this test's own that
// matches only that port): the condition turns False with UDPUnreachable
// within one interval while TCP is reported working, and returns to True
// once the rule is gone.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  condition,
  cr,
  getOrUndefined,
  installCrd,
  instancePods,
  kubectl,
  startOperator,
  useCluster,
  useNamespace,
  waitCondition,
  waitFor,
  type Obj,
  type OperatorProcess,
} from "@mattermost-rtcd/e2e/testing";
import type { MattermostRTCD } from "@mattermost-rtcd/operator/api";
import { freeICEPort, startRtcd, stopRtcd, type Running } from "@mattermost-rtcd/rtcd/testing/procs";

const ns = useNamespace("operator-media-probe");
installCrd();
const dir = mkdtempSync(join(tmpdir(), "media-reachable-"));
const addressFile = join(dir, "pods.json");
const table = `mmrtcd_media_reachable_${process.pid}`;
const INTERVAL_S = 5;
let op: OperatorProcess;
let rtcd: Running | undefined;
let icePort: number;

const nft = (script: string) =>
  execFileSync("nft", ["-f", "-"], { input: script, stdio: ["pipe", "ignore", "pipe"] });
const dropUDP = () =>
  nft(
    `table inet ${table} {\n chain input {\n  type filter hook input priority -10; policy accept;\n` +
      `  udp dport ${icePort} drop\n }\n}\n`,
  );
const allowUDP = () => nft(`delete table inet ${table}\n`);

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
  try {
    allowUDP();
  } catch {
    // Already removed by the test (or never added).
  }
  if (rtcd) await stopRtcd(rtcd);
  const code = await op?.stop();
  expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
});

async function events(reason: string): Promise<string[]> {
  const list = JSON.parse(
    await kubectl(["get", "events", "-n", ns.name, "--field-selector", `reason=${reason}`, "-o", "json"]),
  ) as { items: { message: string }[] };
  return list.items.map((e) => e.message);
}

/** waitCondition, failing with what the CR said and what the operator logged about probes. */
async function expectMedia(status: string, reason: string, timeoutMs: number) {
  try {
    return await waitCondition(ns.name, "probed", "MediaReachable", status, reason, timeoutMs);
  } catch (err) {
    const o = await getOrUndefined<MattermostRTCD>(ns.name, "mattermostrtcd", "probed");
    const logs = op.logs.filter((l) => l.includes("probe")).slice(-10);
    throw new Error(
      `${String(err)}\ncondition: ${JSON.stringify(condition(o, "MediaReachable"))}\n${logs.join("\n")}`,
      { cause: err },
    );
  }
}

describe("MediaReachable", () => {
  it("is True while audio flows over UDP and TCP, UDPUnreachable while UDP is dropped, True again after", async () => {
    await kubectl(["apply", "-n", ns.name, "-f", "-"], {
      input: cr("probed", {
        replicas: 1,
        probes: { media: { intervalSeconds: INTERVAL_S, timeoutSeconds: 3 } },
      }),
    });
    const secret = await waitFor(async () => getOrUndefined<Obj>(ns.name, "secret", "probed-admin"), {
      timeoutMs: 30_000,
      what: "the generated admin Secret",
    });
    const admin = Buffer.from(secret.data!["ADMIN_SECRET_KEY"]!, "base64").toString();
    icePort = await freeICEPort();
    rtcd = await startRtcd({
      impl: "ours",
      realBinary: "",
      dir: join(dir, "rtcd"),
      name: "rtcd",
      env: {
        RTCD_API_SECURITY_ENABLEADMIN: "true",
        RTCD_API_SECURITY_ADMINSECRETKEY: admin,
        RTCD_RTC_ICEPORTUDP: String(icePort),
        RTCD_RTC_ICEPORTTCP: String(icePort),
      },
    });
    const pod = await waitFor(
      async () =>
        (await instancePods<Obj>(ns.name, "probed")).find(
          (p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp,
        ),
      { timeoutMs: 60_000, what: "the instance's pod" },
    );
    const podName = pod.metadata.name;
    writeFileSync(addressFile, JSON.stringify({ [podName]: rtcd.url }));

    await expectMedia("True", "AllPodsReachable", 60_000);
    const metrics = await op.metrics();
    for (const t of ["udp", "tcp"])
      expect(metrics).toContain(
        `rtcd_operator_media_probe_success{namespace="${ns.name}",name="probed",pod="${podName}",transport="${t}"} 1`,
      );

    dropUDP();
    const started = Date.now();
    // One interval, plus the call in flight when the rule went in (two transports' timeouts).
    const bound = (INTERVAL_S + 2 * 3) * 1000 + 5_000;
    const down = await expectMedia("False", "UDPUnreachable", bound);
    const message = condition(down, "MediaReachable")!.message!;
    expect(message).toContain(`pod ${podName}: UDP ICETimeout`);
    // TCP is reported working: it is not named among the failures.
    expect(message).not.toContain("TCP ");
    expect(Date.now() - started).toBeLessThan(bound);
    expect(await op.metrics()).toContain(
      `rtcd_operator_media_probe_success{namespace="${ns.name}",name="probed",pod="${podName}",transport="tcp"} 1`,
    );
    await waitFor(async () => (await events("MediaProbeFailed")).length > 0, {
      timeoutMs: 10_000,
      what: "a MediaProbeFailed event",
    });
    expect(await events("MediaProbeFailed")).toEqual([
      expect.stringContaining(`pod ${podName}: UDP ICETimeout`),
    ]);

    allowUDP();
    await expectMedia("True", "AllPodsReachable", bound);
    await waitFor(async () => (await events("MediaProbeRecovered")).length > 0, {
      timeoutMs: 10_000,
      what: "a MediaProbeRecovered event",
    });
    expect(await events("MediaProbeRecovered")).toEqual([`pod ${podName}: UDP works again`]);
  });

  it("says WorkerRestarted when a media worker of the pod's rtcd dies", async () => {
    const workers = execFileSync("pgrep", ["-P", String(rtcd!.proc.pid), "-f", "mediasoup-worker"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean);
    expect(workers.length).toBeGreaterThan(0);
    process.kill(Number(workers[0]), "SIGKILL");
    // The operator reads each pod's counters at most every 30 s, on a reconcile
    // (here at least every probe interval).
    await waitFor(async () => (await events("WorkerRestarted")).length > 0, {
      timeoutMs: 60_000,
      what: "a WorkerRestarted event",
    }).catch((err: unknown) => {
      const logs = op.logs.filter((l) => l.includes("pod counters")).slice(-5);
      throw new Error(`${String(err)}\n${logs.join("\n")}`, { cause: err });
    });
    expect(await events("WorkerRestarted")).toEqual([
      expect.stringMatching(/media worker\(s\) died and were restarted/),
    ]);
  });
});
