// `npm test`: every check CI runs, in order, with the time each took.
// Stages: lint and format, type check, no import cycles, generated files fresh,
// the cached Kubernetes binaries, mediasoup worker, actionlint and prometheus (built
// once if missing), then the unit, integration and e2e tiers of Vitest (the latter two on the
// local cluster, started if it is not running). Prints a table of the stages,
// then one "Tests: N passed, N failed, N skipped" line that counts Vitest's
// tests only: a stage is not a test, but a failed stage still fails the run.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { summarise, type StageResult, type VitestCounts } from "./test-summary.ts";

const root = join(import.meta.dirname, "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const only = process.argv.slice(2);

interface Stage {
  name: string;
  cmd: string[];
}

const reportFile = join(root, ".tmp", "vitest-report.json");
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
  {
    name: "vitest",
    cmd: [bin("vitest"), "run", "--reporter=default", "--reporter=json", `--outputFile.json=${reportFile}`],
  },
];

mkdirSync(join(root, ".tmp"), { recursive: true });
// A report left by an earlier run must not be counted as this run's.
rmSync(reportFile, { force: true });
const timings: StageResult[] = [];
for (const s of stages) {
  if (only.length && !only.includes(s.name)) continue;
  process.stdout.write(`\n=== ${s.name}: ${s.cmd.map((c) => c.replace(root + "/", "")).join(" ")}\n`);
  const t0 = performance.now();
  const r = spawnSync(s.cmd[0]!, s.cmd.slice(1), { cwd: root, stdio: "inherit", env: process.env });
  const seconds = (performance.now() - t0) / 1000;
  timings.push({ name: s.name, seconds, ok: r.status === 0 });
}

let report: VitestCounts | undefined;
if (existsSync(reportFile) && (!only.length || only.includes("vitest"))) {
  report = JSON.parse(readFileSync(reportFile, "utf8")) as VitestCounts;
}
const summary = summarise(timings, report, root);
process.stdout.write(summary.text);
process.exit(summary.exitCode);
