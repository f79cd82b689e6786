// The alerting rules the chart ships (charts/mattermost-rtcd/files/monitoring/
// alerts.yaml) load in Prometheus, and each alert fires on the symptom it
// names and stays quiet just short of it: promtool's own rule tests
// (monitoring/alerts.promtool.yaml), run with the promtool build-bins.sh builds.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { prometheusBin, repoRoot } from "./support/prometheus-bin.ts";

const rulesFile = join(repoRoot, "charts/mattermost-rtcd/files/monitoring/alerts.yaml");
const testsFile = join(import.meta.dirname, "monitoring/alerts.promtool.yaml");

interface RuleFile {
  groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[];
}
interface PromtoolTests {
  tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const alerts = (parse(readFileSync(rulesFile, "utf8")) as RuleFile).groups.flatMap((g) =>
  g.rules.filter((r) => r.alert),
);

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(prometheusBin("promtool"), args, { encoding: "utf8", cwd: repoRoot });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("alerting rules", () => {
  test("promtool check rules accepts the rule file", () => {
    const r = promtool("check", "rules", rulesFile);
    expect(r.out).toContain("SUCCESS");
    expect(r.status, r.out).toBe(0);
  });

  test("promtool test rules: every case passes", () => {
    const r = promtool("test", "rules", testsFile);
    expect(r.status, r.out).toBe(0);
  });

  test("every alert has a case that fires it and one that does not, and a runbook", () => {
    const cases = (parse(readFileSync(testsFile, "utf8")) as PromtoolTests).tests.flatMap(
      (t) => t.alert_rule_test,
    );
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${a.alert} fires in a case`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${a.alert} stays quiet in a case`,
      ).toBe(true);
      const runbook = a.annotations?.["runbook_url"];
      expect(runbook, `${a.alert} runbook_url`).toBe(`docs/runbooks/${a.alert}.md`);
      expect(existsSync(join(repoRoot, runbook!)), `${runbook} exists`).toBe(true);
    }
  });
});
