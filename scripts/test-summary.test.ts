import { describe, expect, it } from "vitest";
import { summarise, type StageResult } from "./test-summary.ts";

const stage = (name: string, ok = true): StageResult => ({ name, seconds: 1, ok });
const report = { numPassedTests: 10, numFailedTests: 0, numPendingTests: 2, numTodoTests: 1 };
const testsLines = (text: string) => text.split("\n").filter((l) => l.startsWith("Tests:"));

describe("npm test's summary", () => {
  it("counts Vitest's tests only, never the stages", () => {
    const s = summarise([stage("lint"), stage("format"), stage("typecheck"), stage("vitest")], report);
    expect(testsLines(s.text)).toEqual(["Tests: 10 passed, 0 failed, 3 skipped"]);
    expect(s.exitCode).toBe(0);
  });

  it("a failed stage fails the run and is named, without being counted as a failed test", () => {
    const s = summarise([stage("lint"), stage("cycles", false), stage("vitest")], report);
    expect(s.exitCode).toBe(1);
    expect(s.text).toContain("FAIL cycles");
    expect(s.text).toContain("failed stages: cycles");
    expect(testsLines(s.text)).toEqual(["Tests: 10 passed, 0 failed, 3 skipped"]);
  });

  it("a failed test fails the run", () => {
    const s = summarise([stage("vitest", false)], { ...report, numFailedTests: 1 });
    expect(s.exitCode).toBe(1);
    expect(testsLines(s.text)).toEqual(["Tests: 10 passed, 1 failed, 3 skipped"]);
  });

  it("says so when Vitest ran but left no report", () => {
    const s = summarise([stage("lint"), stage("vitest", false)], undefined);
    expect(s.text).toContain("no Vitest report");
    expect(testsLines(s.text)).toEqual(["Tests: 0 passed, 0 failed, 0 skipped"]);
    expect(s.exitCode).toBe(1);
  });
});
