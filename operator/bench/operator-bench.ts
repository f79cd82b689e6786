// npm run bench:operator -- --crs N [--namespaces M] [--json out.json] [--no-floor]
//
// The operator against the API server's floor, in one run on the local
// cluster (docs/benchmarks.md explains the method and the numbers):
//   1. N MattermostRTCDs across M namespaces: time until all are Ready, the
//      operator's peak RSS and CPU, and its API requests per CR;
//   2. a restart and one periodic resync of the unchanged CRs: writes (must be 0);
//   3. the floor: the same objects server-side-applied by a loop with no
//      controller logic, 4 at a time, until every Deployment is available.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import { ensureCluster, stateDir } from "@mattermost-rtcd/e2e/cluster";
import type { KubeClient } from "../src/controller/kube-client.ts";
import { instanceSelector, ownedTypes } from "../src/render/index.ts";
import { OWNER_LABEL, RUN_LABEL, crFor, floorObjects, nodeManifest, typeOf } from "./objects.ts";
import { perCr, printTable, total } from "./report.ts";
import {
  CR,
  DEPLOYMENT,
  NAMESPACE,
  NODE,
  crReady,
  deploymentAvailable,
  floorWriter,
  listNames,
  loadClient,
  pool,
  waitAll,
} from "./kube.ts";
import {
  WRITE_VERBS,
  apiRequests,
  controlPlaneCpu,
  controllerManagerThrottleSeconds,
  diff,
  procStats,
  sleep,
  startOperator,
  sum,
  type OperatorProcess,
  type Sample,
} from "./process.ts";

const CRD_FILE = join(import.meta.dirname, "../../crds/rtcd.mattermost.com_mattermostrtcds.yaml");
const MANAGED = "app.kubernetes.io/managed-by=mattermost-rtcd-operator";
const ZONES = ["zone-a", "zone-b", "zone-c"];
const FLOOR_MANAGER = "operator-bench-floor";

const log = (msg: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const { values: args } = parseArgs({
  options: {
    crs: { type: "string" },
    namespaces: { type: "string", default: "10" },
    replicas: { type: "string", default: "1" },
    json: { type: "string" },
    "timeout-min": { type: "string", default: "40" },
    // Phases 1 and 2 only (memory, writes, resync): no floor, so no ratio.
    "no-floor": { type: "boolean", default: false },
  },
});
const N = Number(args.crs);
const M = Math.min(Number(args.namespaces), N);
const REPLICAS = Number(args.replicas);
const TIMEOUT_MS = Number(args["timeout-min"]) * 60_000;
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(M) || M < 1 || !Number.isInteger(REPLICAS)) {
  process.stderr.write(
    "usage: npm run bench:operator -- --crs N [--namespaces M] [--replicas R] [--json out.json] [--timeout-min T] [--no-floor]\n",
  );
  process.exit(2);
}

const RUN = randomBytes(3).toString("hex");
const opNs = Array.from({ length: M }, (_, i) => `bench-op-${RUN}-op-${i}`);
const floorNs = Array.from({ length: M }, (_, i) => `bench-op-${RUN}-floor-${i}`);
const nodeNames = ZONES.map((z) => `bench-op-${RUN}-${z}`);

async function createNamespaces(client: KubeClient, names: string[]): Promise<void> {
  await pool(names, 8, async (name) => {
    await client.create(NAMESPACE, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { [OWNER_LABEL]: "operator-bench", [RUN_LABEL]: RUN } },
    });
  });
}

/** Deletes this run's namespaces (or every benchmark's, for leftovers of a killed run), then the nodes. */
async function cleanup(client: KubeClient, selector: string, waitMs: number): Promise<void> {
  const nss = await listNames(client, NAMESPACE, selector);
  await pool(nss, 8, (n) => client.delete(NAMESPACE, undefined, n));
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && (await listNames(client, NAMESPACE, selector)).length > 0)
    await sleep(2000);
  const left = await listNames(client, NAMESPACE, selector);
  if (left.length)
    log(`${left.length} namespaces still terminating; the namespace controller will finish them`);
  for (const n of await listNames(client, NODE, selector)) await client.delete(NODE, undefined, n);
}

async function waitOperatorReady(op: OperatorProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await op.ready())) {
    if (op.proc.exitCode !== null)
      throw new Error(`operator exited (${op.proc.exitCode}); see ${op.logFile}`);
    if (Date.now() > deadline) throw new Error(`operator not ready in 120s; see ${op.logFile}`);
    await sleep(250);
  }
}

/** Until the work queue is empty twice in a row, one second apart, and `cond` holds. */
async function waitSettled(op: OperatorProcess, cond: (reconciles: number) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  for (;;) {
    const s = await op.samples();
    const reconciles = sum(s, "controller_runtime_reconcile_total");
    const depth = sum(s, "workqueue_depth");
    quiet = depth === 0 && cond(reconciles) ? quiet + 1 : 0;
    if (quiet >= 2 || Date.now() > deadline) return { samples: s, reconciles, settled: quiet >= 2 };
    await sleep(1000);
  }
}

const cpuDelta = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(b).map((k) => [k, Math.round((b[k]! - (a[k] ?? 0)) * 10) / 10]));
const throttled = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : Math.round(b - a);
const mib = (b: number) => Math.round(b / 1048576);
const heapUsed = (s: Sample[]) => sum(s, "nodejs_heap_size_used_bytes");
const sec = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms) / 1000);

async function main(): Promise<number> {
  const cluster = await ensureCluster();
  const env = { ...process.env, ...cluster.env };
  execFileSync("kubectl", ["apply", "--server-side", "--force-conflicts", "-f", CRD_FILE], {
    env,
    stdio: "ignore",
  });
  execFileSync(
    "kubectl",
    ["wait", "--for=condition=Established", "--timeout=60s", "crd/mattermostrtcds.rtcd.mattermost.com"],
    { env, stdio: "ignore" },
  );
  const { kc, client } = loadClient(cluster.kubeconfig);
  const leftovers = await listNames(client, NAMESPACE, `${OWNER_LABEL}=operator-bench`);
  if (leftovers.length) {
    log(`removing ${leftovers.length} namespaces left by an earlier run`);
    await cleanup(client, `${OWNER_LABEL}=operator-bench`, 300_000);
  }
  log(`run ${RUN}: ${N} CRs x ${REPLICAS} replica(s) over ${M} namespaces`);
  let exitCode = 0;
  const result: Record<string, unknown> = {
    run: RUN,
    date: new Date().toISOString(),
    machine: { nproc: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30) },
    params: {
      crs: N,
      namespaces: M,
      replicas: REPLICAS,
      maxConcurrentReconciles: 4,
    },
  };
  const opLog = `/tmp/operator-bench-${RUN}.log`;
  const ops: OperatorProcess[] = [];
  const onSignal = () => {
    for (const op of ops) op.proc.kill("SIGTERM");
    void cleanup(client, `${RUN_LABEL}=${RUN}`, 60_000).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  try {
    await pool(nodeNames, 3, async (n) => {
      await client.create(NODE, nodeManifest(RUN, n, ZONES[nodeNames.indexOf(n)]!));
    });
    await createNamespaces(client, opNs);
    const nodesReady = await waitAll(kc, NODE, {
      labelSelector: `${RUN_LABEL}=${RUN}`,
      accept: () => true,
      done: (o) =>
        !!(o as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.some(
          (c) => c.type === "Ready" && c.status === "True",
        ),
      expected: nodeNames.length,
      timeoutMs: 60_000,
    });
    if (nodesReady.allDoneAt === undefined)
      throw new Error("the benchmark's kwok nodes did not become Ready");

    // 1. The operator.
    log(`phase 1: operator (log ${opLog})`);
    const op = await startOperator(cluster.kubeconfig, opNs, "10m", opLog);
    ops.push(op);
    await waitOperatorReady(op);
    const before = {
      samples: await op.samples(),
      proc: procStats(op.pid)!,
      cp: controlPlaneCpu(),
      throttle: await controllerManagerThrottleSeconds(stateDir()),
    };
    const crs = Array.from({ length: N }, (_, i) => crFor(RUN, REPLICAS, i, opNs[i % M]!, 20000));
    const inRun = (o: KubernetesObject) => o.metadata?.namespace?.startsWith(`bench-op-${RUN}-op-`) === true;
    let progress = 0;
    // The V8 heap's size (live data and the room V8 keeps above it) every
    // 10 s with the progress line: with the peak RSS it says how much of the
    // peak is heap. A scrape costs the operator one /metrics render.
    let heapTotalMax = 0;
    const ticker = setInterval(() => {
      log(`  ${progress}/${N} Ready`);
      op.samples().then(
        (s) => (heapTotalMax = Math.max(heapTotalMax, sum(s, "nodejs_heap_size_total_bytes"))),
        () => undefined,
      );
    }, 10_000);
    const t0 = performance.now();
    const ready = waitAll(kc, CR, {
      labelSelector: `${RUN_LABEL}=${RUN}`,
      accept: inRun,
      done: crReady,
      expected: N,
      timeoutMs: TIMEOUT_MS,
      onProgress: (n) => (progress = n),
    });
    await pool(crs, 8, async (cr) => {
      await client.create(CR, cr as KubernetesObject);
    });
    const createdMs = performance.now() - t0;
    const readyRes = await ready;
    const opMs = readyRes.allDoneAt === undefined ? undefined : performance.now() - t0;
    clearInterval(ticker);
    const atReady = {
      proc: procStats(op.pid)!,
      heap: heapUsed(await op.samples()),
      cp: controlPlaneCpu(),
      throttle: await controllerManagerThrottleSeconds(stateDir()),
    };
    if (opMs === undefined) log(`  only ${readyRes.doneCount}/${N} Ready after ${TIMEOUT_MS / 60000} min`);
    const settled = await waitSettled(op, () => true, 120_000);
    const after = { proc: procStats(op.pid)!, samples: settled.samples };
    const opReq = diff(apiRequests(after.samples), apiRequests(before.samples));
    const startupReq = apiRequests(before.samples);
    result["operator"] = {
      readySeconds: sec(opMs),
      readyCount: readyRes.doneCount,
      createSeconds: sec(createdMs),
      peakRssMiB: mib(after.proc.peakRssBytes),
      rssAtStartMiB: mib(before.proc.rssBytes),
      rssAtReadyMiB: mib(atReady.proc.rssBytes),
      heapUsedAtStartMiB: mib(heapUsed(before.samples)),
      heapUsedAtReadyMiB: mib(atReady.heap),
      heapTotalMaxMiB: mib(heapTotalMax),
      cpuSeconds: Math.round((atReady.proc.cpuSeconds - before.proc.cpuSeconds) * 100) / 100,
      cpuSecondsTotal: Math.round(after.proc.cpuSeconds * 100) / 100,
      reconciles:
        sum(after.samples, "controller_runtime_reconcile_total") -
        sum(before.samples, "controller_runtime_reconcile_total"),
      requests: Object.fromEntries(opReq),
      requestsPerCr: perCr(opReq, N),
      writesPerCr: Math.round((total(opReq, (v) => WRITE_VERBS.has(v)) / N) * 100) / 100,
      readsPerCr: Math.round((total(opReq, (v) => !WRITE_VERBS.has(v)) / N) * 100) / 100,
      startupRequests: Object.fromEntries(startupReq),
      controlPlaneCpuSeconds: cpuDelta(before.cp, atReady.cp),
      controllerManagerThrottledSeconds: throttled(before.throttle, atReady.throttle),
    };
    log(`  operator: ${sec(opMs)} s to Ready, peak RSS ${mib(after.proc.peakRssBytes)} MiB`);

    // The floor must write what the operator wrote: compare one instance's objects.
    const rendered = floorObjects(crs[0]!).map((o) => `${o.kind}/${o.metadata!.name}`);
    const live: string[] = [];
    for (const t of ownedTypes.filter((t) => !t.optional)) {
      const l = await client.list(t, opNs[0], { labelSelector: `${instanceSelector("rtcd-0")},${MANAGED}` });
      for (const o of l.items) live.push(`${t.kind}/${o.metadata!.name}`);
    }
    const same = rendered.slice().sort().join(",") === live.slice().sort().join(",");
    result["objectsPerCr"] = { rendered, operator: live, same };
    if (!same) log(`  WARNING: operator objects ${live.join(",")} != floor objects ${rendered.join(",")}`);

    // 2. Resync of the unchanged CRs: a fresh process (startup enqueues every CR),
    // then one periodic resync.
    log("phase 2: restart + periodic resync of the unchanged CRs");
    await op.stop();
    const resyncPeriod = N >= 500 ? "60s" : "20s";
    const op2 = await startOperator(cluster.kubeconfig, opNs, resyncPeriod, opLog);
    ops.push(op2);
    const r0 = performance.now();
    await waitOperatorReady(op2);
    const cold = await waitSettled(op2, (r) => r >= N, TIMEOUT_MS);
    const coldMs = performance.now() - r0;
    const coldReq = apiRequests(cold.samples);
    const periodic = await waitSettled(op2, (r) => r >= 2 * N, TIMEOUT_MS);
    const resyncReq = apiRequests(periodic.samples);
    const writes = new Map([...resyncReq].filter(([k, v]) => WRITE_VERBS.has(k.split(" ")[0]!) && v > 0));
    const writeCount = total(writes);
    const afterResync = procStats(op2.pid);
    result["resync"] = {
      rssAfterResyncMiB: afterResync && mib(afterResync.rssBytes),
      peakRssMiB: afterResync && mib(afterResync.peakRssBytes),
      heapUsedAfterResyncMiB: mib(heapUsed(periodic.samples)),
      reconciles: periodic.reconciles,
      settled: cold.settled && periodic.settled,
      coldStartSeconds: sec(coldMs),
      coldStartCpuSeconds: procStats(op2.pid)?.cpuSeconds,
      coldStartRequests: Object.fromEntries(coldReq),
      requests: Object.fromEntries(resyncReq),
      writes: writeCount,
      writesByVerbResource: Object.fromEntries(writes),
    };
    log(`  resync: ${periodic.reconciles} reconciles, ${writeCount} writes`);
    if (writeCount !== 0 || !periodic.settled) exitCode = 1;
    await op2.stop();

    if (args["no-floor"]) {
      printTable(N, result, opReq, new Map(), writes);
      process.stdout.write(`rerun: npm run bench:operator -- --crs ${N} --namespaces ${M} --no-floor\n`);
      return exitCode;
    }

    // 3. The floor.
    log("phase 3: floor (server-side apply of the same objects, 4 at a time, no controller)");
    await createNamespaces(client, floorNs);
    const floorCrs = Array.from({ length: N }, (_, i) => crFor(RUN, REPLICAS, i, floorNs[i % M]!, 40000));
    const work = floorCrs.map(floorObjects);
    const writer = await floorWriter(kc, FLOOR_MANAGER);
    const cpBefore = controlPlaneCpu();
    const throttleBefore = await controllerManagerThrottleSeconds(stateDir());
    progress = 0;
    const floorTicker = setInterval(() => log(`  ${progress}/${N} Deployments available`), 10_000);
    const f0 = performance.now();
    const available = waitAll(kc, DEPLOYMENT, {
      labelSelector: MANAGED,
      accept: (o) => o.metadata?.namespace?.startsWith(`bench-op-${RUN}-floor-`) === true,
      done: deploymentAvailable,
      expected: N,
      timeoutMs: TIMEOUT_MS,
      onProgress: (n) => (progress = n),
    });
    await pool(work, 4, async (objs) => {
      const [secret, ...rest] = objs;
      await writer.create(typeOf(secret!), secret!);
      for (const o of rest) await writer.apply(typeOf(o), o);
    });
    const appliedMs = performance.now() - f0;
    const floorRes = await available;
    const floorMs = floorRes.allDoneAt === undefined ? undefined : performance.now() - f0;
    clearInterval(floorTicker);
    const floorReq = diff(writer.counts, new Map());
    result["floor"] = {
      readySeconds: sec(floorMs),
      readyCount: floorRes.doneCount,
      applySeconds: sec(appliedMs),
      requests: Object.fromEntries(floorReq),
      requestsPerCr: perCr(floorReq, N),
      controlPlaneCpuSeconds: cpuDelta(cpBefore, controlPlaneCpu()),
      controllerManagerThrottledSeconds: throttled(
        throttleBefore,
        await controllerManagerThrottleSeconds(stateDir()),
      ),
    };
    const ratio =
      opMs !== undefined && floorMs !== undefined ? Math.round((opMs / floorMs) * 100) / 100 : undefined;
    result["ratio"] = ratio;
    log(`  floor: ${sec(floorMs)} s; ratio ${ratio}`);
    printTable(N, result, opReq, floorReq, writes);
    process.stdout.write(
      `rerun: npm run bench:operator -- --crs ${N} --namespaces ${M} --replicas ${REPLICAS}\n`,
    );
    if (opMs === undefined || floorMs === undefined) exitCode = 1;
  } finally {
    for (const op of ops) await op.stop();
    if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2) + "\n");
    log("cleaning up namespaces and nodes");
    await cleanup(client, `${RUN_LABEL}=${RUN}`, 600_000);
  }
  return exitCode;
}

process.exitCode = await main();
