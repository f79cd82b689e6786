// The Grafana dashboard the chart ships (charts/mattermost-rtcd/files/
// monitoring/dashboard.json, kept by hand): every panel has queries, every
// query parses (promtool checks them as rules), and every metric it names is
// one our rtcd exports, or, in the operator's row, one the operator exports,
// so no panel is empty by a typo. That each returns data is
// rtcd/test/prometheus.int.test.ts (rtcd's panels) and
// operator/test/prometheus-dashboard.int.test.ts (the operator's).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { exportedSeriesNames } from "@mattermost-rtcd/operator/metrics";
import { Metrics } from "../src/metrics.ts";
import {
  MATTERMOST_CALLS_DASHBOARD_QUERIES,
  OPERATOR_ROW,
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

  test("has a row of the operator's decisions and media probe, as on-call reads them", () => {
    const rows = dashboardPanels().filter((p) => p.type === "row");
    expect(rows.map((r) => r.title)).toContain(OPERATOR_ROW);
    const titles = dashboardQueries()
      .filter((q) => q.row === OPERATOR_ROW)
      .map((q) => q.panel)
      .join("\n");
    for (const want of [
      /Autoscaler: replicas/,
      /Autoscaler: load against target/,
      /Autoscaler: sessions and headroom/,
      /Media probe: failing/,
      /Media probe: success per pod/,
      /Media probe: call time/,
      /Operator: reconciles/,
      /Operator: Kubernetes API requests/,
    ])
      expect(titles).toMatch(want);
    // Each per-instance panel says how the dashboard's variables map onto
    // the operator's labels (namespace and name, not service).
    for (const p of dashboardPanels().filter((x) => x.type !== "row" && x.row === OPERATOR_ROW))
      expect(p.description ?? "", p.title).toMatch(/\$instance|operator/);
  });

  test("every query names only metrics our rtcd exports, or in the operator's row the operator's", async () => {
    const ours = await exported();
    const operator = new Set(await exportedSeriesNames());
    expect(operator.has("rtcd_operator_autoscaler_desired_replicas")).toBe(true);
    for (const q of dashboardQueries()) {
      const names = metricNames(q.expr);
      expect(names.length, `${q.panel} ${q.refId}`).toBeGreaterThan(0);
      const from = q.row === OPERATOR_ROW ? operator : ours;
      const whose = q.row === OPERATOR_ROW ? "the operator" : "our rtcd";
      for (const n of names)
        expect(from.has(n), `${q.panel} ${q.refId}: ${n} (not exported by ${whose})`).toBe(true);
    }
  });

  test("the operator's per-instance queries filter by $namespace and $instance on the operator's labels", () => {
    for (const q of dashboardQueries().filter(
      (x) => x.row === OPERATOR_ROW && /rtcd_operator_(autoscaler|media_probe)/.test(x.expr),
    )) {
      expect(q.expr, `${q.panel} ${q.refId}`).toContain('namespace=~"$namespace"');
      expect(q.expr, `${q.panel} ${q.refId}`).toContain('name=~"$instance"');
      expect(q.expr, `${q.panel} ${q.refId}`).not.toContain("service=~");
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
