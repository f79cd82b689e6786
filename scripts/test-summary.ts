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
}

export interface Summary {
  text: string;
  exitCode: 0 | 1;
}

/** `report` is undefined when Vitest did not run or wrote no report. */
export function summarise(stages: readonly StageResult[], report: VitestCounts | undefined): Summary {
  const lines = ["", "=== stages"];
  for (const s of stages)
    lines.push(`${s.ok ? "ok  " : "FAIL"} ${s.name.padEnd(10)} ${s.seconds.toFixed(1)} s`);
  const failedStages = stages.filter((s) => !s.ok);
  if (failedStages.length) lines.push(`failed stages: ${failedStages.map((s) => s.name).join(", ")}`);
  if (!report && stages.some((s) => s.name === "vitest"))
    lines.push("no Vitest report: its tests are not counted");
  const passed = report?.numPassedTests ?? 0;
  const failed = report?.numFailedTests ?? 0;
  const skipped = (report?.numPendingTests ?? 0) + (report?.numTodoTests ?? 0);
  lines.push("", `Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`, "");
  return { text: lines.join("\n"), exitCode: failedStages.length || failed ? 1 : 0 };
}
