// `npm test`: every check CI runs, in order, with the time each took.
// Stages: lint and format, type check, no import cycles, generated files fresh,
// the cached Kubernetes binaries, mediasoup worker, actionlint and prometheus (built
// once if missing), then, with kind's and skaffold's builds in the background,
// Vitest's tiers (see vitest.config.ts) in two lanes
// at once: the cluster lane (integration, then e2e, on the local cluster,
// started if it is not running) and the local lane (unit, media, then kind);
// then the files that must run alone. Prints a table of the stages, then one
// "Tests: N passed, N failed, N skipped" line that counts Vitest's tests
// only: a stage is not a test, but a failed stage still fails the run.
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
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
  // The workflow linter scripts/workflows.test.ts runs (a minute to build once).
  { name: "actionlint", cmd: ["bash", "e2e/cluster/build-bins.sh", "actionlint"] },
  // prometheus and promtool: the alert rules' promtool tests and the
  // dashboard's proof on a real Prometheus (cached like the others).
  { name: "prometheus", cmd: ["bash", "e2e/cluster/build-bins.sh", "prometheus"] },
];

// What only the kind test needs, last in the local lane: kind, kubeadm and the
// etcd of its node image, and skaffold (about 8 minutes to build once). Built
// beside the lanes at the lowest CPU priority, so on a machine that has never
// built them the compile fills the lanes' idle CPU instead of delaying the
// tests; the kind test waits for them (build-bins.sh locks each build). Cached
// afterwards, when this takes a second.
const backgroundBuilds: Stage[] = [
  { name: "kind-bins", cmd: ["nice", "-n", "19", "bash", "e2e/cluster/build-bins.sh", "kind"] },
  { name: "skaffold", cmd: ["nice", "-n", "19", "bash", "e2e/cluster/build-bins.sh", "skaffold"] },
];
const backgroundLog = join(root, ".tmp", "background-builds.log");

/** The background builds one after the other (together they would only
 * compete for the same cores), their output in backgroundLog. */
async function runBackground(builds: Stage[]): Promise<StageResult[]> {
  if (!builds.length) return [];
  const out = openSync(backgroundLog, "w");
  const results: StageResult[] = [];
  process.stdout.write(
    `\n=== background: ${builds.map((b) => b.name).join(", ")} (log .tmp/background-builds.log)\n`,
  );
  for (const b of builds) {
    const t0 = performance.now();
    const child = spawn(b.cmd[0]!, b.cmd.slice(1), {
      cwd: root,
      stdio: ["ignore", out, out],
      env: process.env,
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    results.push({ name: `${b.name} (bg)`, seconds: (performance.now() - t0) / 1000, ok: code === 0 });
    if (code !== 0)
      process.stdout.write(
        `\n=== background ${b.name} failed; log:\n${readFileSync(backgroundLog, "utf8").slice(-4000)}\n`,
      );
  }
  closeSync(out);
  return results;
}

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
const background = runBackground(backgroundBuilds.filter((b) => !only.length || only.includes(b.name)));
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
timings.push(...(await background));
const summary = summarise(timings, mergeReports(reports), root, lanesWithoutReport);
process.stdout.write(summary.text);
process.exit(summary.exitCode);
