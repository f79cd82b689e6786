import { describe, expect, it } from "vitest";
import { mergeReports, summarise, type StageResult } from "./test-summary.ts";

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

  it("names each failed test in the tail, with its file, time and the start of its message", () => {
    const failing = {
      ...report,
      numFailedTests: 1,
      testResults: [
        {
          name: "/repo/e2e/test/a.e2e.test.ts",
          assertionResults: [
            { status: "passed", fullName: "a works", duration: 5, failureMessages: [] },
            {
              status: "failed",
              fullName: "a breaks",
              duration: 600_012,
              failureMessages: [
                "Error: Test timed out in 600000ms.\n    at x (a.ts:1:1)\nsecond\nthird\nline4\nline5\nline6\nline7\neighth " +
                  "x".repeat(700) +
                  "\nninth",
              ],
            },
          ],
        },
      ],
    };
    const s = summarise([stage("vitest", false)], failing, "/repo");
    const tail = s.text.slice(s.text.indexOf("failed tests:"));
    expect(tail).toContain("e2e/test/a.e2e.test.ts > a breaks (600.0 s)");
    expect(tail).toContain("Error: Test timed out in 600000ms.");
    expect(tail).not.toContain("a works");
    // Eight lines of the message (where our tests put the system's
    // decisions), each cut at 600 characters; stack frames are in the log above.
    expect(tail).toContain("third");
    expect(tail).toContain("eighth " + "x".repeat(593));
    expect(tail).not.toContain("x".repeat(594));
    expect(tail).not.toContain("at x");
    expect(tail).not.toContain("ninth");
    // The counts stay the last line, so whatever shows the tail shows both.
    expect(s.text.indexOf("failed tests:")).toBeLessThan(s.text.indexOf("Tests: 10 passed, 1 failed"));
  });

  it("adds up the reports of lanes that ran side by side, and keeps every lane's failures", () => {
    const lane = (name: string, passed: number, failed: number) => ({
      numPassedTests: passed,
      numFailedTests: failed,
      numPendingTests: 1,
      numTodoTests: 0,
      testResults: [
        {
          name: `/repo/${name}.test.ts`,
          assertionResults: failed
            ? [{ status: "failed", fullName: `${name} breaks`, failureMessages: ["boom"] }]
            : [],
        },
      ],
    });
    const merged = mergeReports([lane("cluster", 5, 1), lane("local", 7, 0), lane("alone", 1, 1)]);
    expect(merged).toMatchObject({
      numPassedTests: 13,
      numFailedTests: 2,
      numPendingTests: 3,
      numTodoTests: 0,
    });
    const s = summarise([stage("vitest:cluster", false), stage("vitest:local")], merged, "/repo");
    expect(s.text).toContain("cluster.test.ts > cluster breaks");
    expect(s.text).toContain("alone.test.ts > alone breaks");
    expect(testsLines(s.text)).toEqual(["Tests: 13 passed, 2 failed, 3 skipped"]);
    expect(mergeReports([])).toBeUndefined();
  });

  it("a lane that left no report is named, and its stage fails the run", () => {
    const s = summarise([stage("vitest:cluster"), stage("vitest:local", false)], report, "", ["local"]);
    expect(s.text).toContain("no Vitest report from lane local: its tests are not counted");
    expect(s.exitCode).toBe(1);
  });
});
