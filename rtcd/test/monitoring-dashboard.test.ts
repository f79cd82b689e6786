// The Grafana dashboard the chart ships (charts/mattermost-rtcd/files/
// monitoring/dashboard.json, kept by hand): every panel has queries, every
// query parses (promtool checks them as rules), and every metric it names is
// one our rtcd exports, so no panel is empty by a typo. That each returns
// data from a real rtcd is rtcd/test/prometheus.int.test.ts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { Metrics } from "../src/metrics.ts";
import {
  MATTERMOST_CALLS_DASHBOARD_QUERIES,
  dashboardPanels,
  dashboardQueries,
  fillMattermostVariables,
  fillVariables,
  metricNames,
} from "./support/dashboard-queries.ts";
import { prometheusBin } from "./support/prometheus-bin.ts";

// Every series name our rtcd exposes, histograms with their suffixes.
async function exported(): Promise<Set<string>> {
  const m = new Metrics({ processMetrics: true });
  m.watchCPU({ seconds: () => 0, budget: 1 });
  const names = new Set<string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    // prom-client types `type` as its enum; the value is the exposition name.
    if (String(metric.type) === "histogram")
      for (const s of ["_bucket", "_sum", "_count"]) names.add(`${metric.name}${s}`);
  }
  return names;
}

describe("the Grafana dashboard", () => {
  test("has the panels operators look for, each with a query", () => {
    const panels = dashboardPanels().filter((p) => p.type !== "row");
    for (const p of panels) expect(p.targets?.length, p.title).toBeGreaterThan(0);
    const titles = panels.map((p) => p.title).join("\n");
    for (const want of [
      /Calls per instance/,
      /Calls per pod/,
      /Sessions per pod/,
      /Tracks/,
      /Joins/,
      /Join time/,
      /Client loss/,
      /Round-trip time/,
      /Jitter/,
      /ICE\/DTLS failures/,
      /CPU against budget/,
      /Media worker deaths/,
      /Draining pods/,
    ])
      expect(titles).toMatch(want);
  });

  test("every query names only metrics our rtcd exports", async () => {
    const ours = await exported();
    for (const q of dashboardQueries()) {
      const names = metricNames(q.expr);
      expect(names.length, `${q.panel} ${q.refId}`).toBeGreaterThan(0);
      for (const n of names) expect(ours.has(n), `${q.panel} ${q.refId}: ${n}`).toBe(true);
    }
  });

  test("every rtcd metric Mattermost's Calls dashboard queries is one ours exports", async () => {
    const ours = await exported();
    for (const q of MATTERMOST_CALLS_DASHBOARD_QUERIES)
      for (const n of metricNames(q)) expect(ours.has(n), `${n} in ${q}`).toBe(true);
  });

  test("every query parses (promtool check rules)", () => {
    const rules = [
      ...dashboardQueries().map((q) => fillVariables(q.expr, "1m")),
      ...MATTERMOST_CALLS_DASHBOARD_QUERIES.map((q) => fillMattermostVariables(q, "127.0.0.1:8045")),
    ].map((expr, i) => ({ record: `dashboard:query_${i}`, expr }));
    const file = join(mkdtempSync(join(tmpdir(), "dashboard-rules-")), "rules.yaml");
    writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
    const r = spawnSync(prometheusBin("promtool"), ["check", "rules", file], { encoding: "utf8" });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});
