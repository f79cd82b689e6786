// The end of `npm test`'s output: a table of stages, then exactly one
// "Tests: N passed, N failed, N skipped" line counting Vitest's tests only.
// A stage (lint, typecheck, ...) is not a test: it never adds to the counts,
// but a failed stage fails the run and is named. Pure, so it is unit-tested.

export interface StageResult {
  name: string;
  seconds: number;
  ok: boolean;
}

/** The counts from Vitest's JSON report (its field names). */
export interface VitestCounts {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  /** Per file, per test; only the failed ones are read. */
  testResults?: readonly {
    name: string;
    assertionResults: readonly {
      status: string;
      fullName: string;
      duration?: number | null;
      failureMessages?: readonly string[];
    }[];
  }[];
}

export interface Summary {
  text: string;
  exitCode: 0 | 1;
}

/** How many lines of a failure's message the tail repeats: enough for the
 * assertion and its own message, which is where our tests put the system's
 * decisions; the rest is in the log above. */
const MESSAGE_LINES = 8;

/** Each failed test with its file, time and the start of its message. CI may
 * show only the tail of a long log, so this is what says what failed there. */
function failedTests(report: VitestCounts, root: string): string[] {
  const lines: string[] = [];
  for (const file of report.testResults ?? []) {
    const path = file.name.startsWith(root + "/") ? file.name.slice(root.length + 1) : file.name;
    for (const t of file.assertionResults) {
      if (t.status !== "failed") continue;
      lines.push(`- ${path} > ${t.fullName} (${((t.duration ?? 0) / 1000).toFixed(1)} s)`);
      const message = (t.failureMessages ?? [])
        .join("\n")
        .split("\n")
        .filter((l) => l.trim() && !/^\s+at /.test(l));
      for (const l of message.slice(0, MESSAGE_LINES)) lines.push(`    ${l.slice(0, 600)}`);
    }
  }
  return lines.length ? ["", "failed tests:", ...lines] : [];
}

/** One report for the lanes `npm test` ran side by side: counts added up,
 * every lane's files kept (so every failure is named). Undefined for none. */
export function mergeReports(reports: readonly VitestCounts[]): VitestCounts | undefined {
  if (!reports.length) return undefined;
  const sum = (k: "numPassedTests" | "numFailedTests" | "numPendingTests" | "numTodoTests") =>
    reports.reduce((n, r) => n + r[k], 0);
  return {
    numPassedTests: sum("numPassedTests"),
    numFailedTests: sum("numFailedTests"),
    numPendingTests: sum("numPendingTests"),
    numTodoTests: sum("numTodoTests"),
    testResults: reports.flatMap((r) => r.testResults ?? []),
  };
}

/** `report` is undefined when Vitest did not run or wrote no report; `root`
 * is cut from file names; `lanesWithoutReport` names the lanes whose tests are
 * missing from it (their stages failed). */
export function summarise(
  stages: readonly StageResult[],
  report: VitestCounts | undefined,
  root = "",
  lanesWithoutReport: readonly string[] = [],
): Summary {
  const lines = ["", "=== stages"];
  for (const s of stages)
    lines.push(`${s.ok ? "ok  " : "FAIL"} ${s.name.padEnd(14)} ${s.seconds.toFixed(1)} s`);
  const failedStages = stages.filter((s) => !s.ok);
  if (failedStages.length) lines.push(`failed stages: ${failedStages.map((s) => s.name).join(", ")}`);
  if (!report && stages.some((s) => s.name.startsWith("vitest")))
    lines.push("no Vitest report: its tests are not counted");
  else
    for (const lane of lanesWithoutReport)
      lines.push(`no Vitest report from lane ${lane}: its tests are not counted`);
  if (report) lines.push(...failedTests(report, root));
  const passed = report?.numPassedTests ?? 0;
  const failed = report?.numFailedTests ?? 0;
  const skipped = (report?.numPendingTests ?? 0) + (report?.numTodoTests ?? 0);
  lines.push("", `Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`, "");
  return { text: lines.join("\n"), exitCode: failedStages.length || failed ? 1 : 0 };
}
