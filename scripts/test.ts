// `npm test`: every check CI runs, in order, with the time each took.
// Stages: lint and format, type check, no import cycles, generated files fresh,
// the cached Kubernetes binaries, mediasoup worker, actionlint and prometheus (built
// once if missing), then Vitest's tiers (see vitest.config.ts) in two lanes
// at once: the cluster lane (integration, then e2e, on the local cluster,
// started if it is not running) and the local lane (unit, media, then kind);
// then the files that must run alone. Prints a table of the stages, then one
// "Tests: N passed, N failed, N skipped" line that counts Vitest's tests
// only: a stage is not a test, but a failed stage still fails the run.
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { mergeReports, summarise, type StageResult, type VitestCounts } from "./test-summary.ts";

const root = join(import.meta.dirname, "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const only = process.argv.slice(2);

interface Stage {
  name: string;
  cmd: string[];
}

const stages: Stage[] = [
  { name: "lint", cmd: [bin("eslint"), "."] },
  { name: "format", cmd: [bin("prettier"), "--check", "."] },
  { name: "typecheck", cmd: [bin("tsc"), "-p", "tsconfig.json", "--noEmit"] },
  { name: "cycles", cmd: [process.execPath, "scripts/import-cycles.ts"] },
  { name: "generated", cmd: [process.execPath, "operator/scripts/generate.ts", "--check"] },
  // Both are cached: seconds when built, a one-time build on a fresh machine.
  { name: "k8s-bins", cmd: [process.execPath, "e2e/cluster/cli.ts", "build"] },
  { name: "worker", cmd: ["bash", "rtcd/worker-build/build-worker.sh"] },
  // kind, kubeadm and the etcd of the kind node image (the kind test's
  // cluster, see e2e/kind); cached like the others.
  { name: "kind-bins", cmd: ["bash", "e2e/cluster/build-bins.sh", "kind"] },
  // skaffold, which the kind test runs (about 6 minutes to build once).
  { name: "skaffold", cmd: ["bash", "e2e/cluster/build-bins.sh", "skaffold"] },
  // The workflow linter scripts/workflows.test.ts runs (a minute to build once).
  { name: "actionlint", cmd: ["bash", "e2e/cluster/build-bins.sh", "actionlint"] },
  // prometheus and promtool: the alert rules' promtool tests and the
  // dashboard's proof on a real Prometheus (cached like the others).
  { name: "prometheus", cmd: ["bash", "e2e/cluster/build-bins.sh", "prometheus"] },
];

/** Vitest processes; the lanes of one step run at the same time. Each
 * lane's files share nothing with the other lane's (see vitest.config.ts). */
interface Lane {
  name: string;
  projects: string[];
}
const steps: Lane[][] = [
  [
    { name: "cluster", projects: ["integration", "e2e"] },
    { name: "local", projects: ["unit", "media", "kind"] },
  ],
  [{ name: "alone", projects: ["alone"] }],
];
const reportFile = (lane: string) => join(root, ".tmp", `vitest-report-${lane}.json`);

function runStage(s: Stage): StageResult {
  process.stdout.write(`\n=== ${s.name}: ${s.cmd.map((c) => c.replace(root + "/", "")).join(" ")}\n`);
  const t0 = performance.now();
  const r = spawnSync(s.cmd[0]!, s.cmd.slice(1), { cwd: root, stdio: "inherit", env: process.env });
  return { name: s.name, seconds: (performance.now() - t0) / 1000, ok: r.status === 0 };
}

/** One Vitest process; each line it prints is prefixed with the lane's name,
 * so two lanes' output stays readable in one log. */
function runLane(lane: Lane): Promise<StageResult> {
  const args = [
    "run",
    ...lane.projects.map((p) => `--project=${p}`),
    "--reporter=default",
    "--reporter=json",
  ];
  args.push(`--outputFile.json=${reportFile(lane.name)}`);
  process.stdout.write(`\n=== vitest:${lane.name}: vitest ${args.join(" ").replaceAll(root + "/", "")}\n`);
  const t0 = performance.now();
  // Colours as if Vitest wrote to our terminal, when it is one.
  const env = process.stdout.isTTY ? { ...process.env, FORCE_COLOR: "1" } : process.env;
  const child = spawn(bin("vitest"), args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env });
  const prefix = `[${lane.name}] `;
  for (const [from, to] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    createInterface({ input: from, crlfDelay: Infinity }).on("line", (l) => to.write(prefix + l + "\n"));
  }
  return new Promise((resolve) => {
    child.on("close", (code) =>
      resolve({ name: `vitest:${lane.name}`, seconds: (performance.now() - t0) / 1000, ok: code === 0 }),
    );
  });
}

mkdirSync(join(root, ".tmp"), { recursive: true });
const timings: StageResult[] = [];
for (const s of stages) if (!only.length || only.includes(s.name)) timings.push(runStage(s));

const reports: VitestCounts[] = [];
const lanesWithoutReport: string[] = [];
// `npm test -- vitest` runs every lane, `npm test -- vitest:local` one.
const wanted = (lane: Lane) =>
  !only.length || only.includes("vitest") || only.includes(`vitest:${lane.name}`);
for (const step of steps.map((s) => s.filter(wanted))) {
  // A report left by an earlier run must not be counted as this run's.
  for (const lane of step) rmSync(reportFile(lane.name), { force: true });
  const results = await Promise.all(step.map(runLane));
  step.forEach((lane, i) => {
    const file = reportFile(lane.name);
    if (existsSync(file)) reports.push(JSON.parse(readFileSync(file, "utf8")) as VitestCounts);
    else {
      lanesWithoutReport.push(lane.name);
      results[i]!.ok = false;
    }
  });
  timings.push(...results);
}
const summary = summarise(timings, mergeReports(reports), root, lanesWithoutReport);
process.stdout.write(summary.text);
process.exit(summary.exitCode);
