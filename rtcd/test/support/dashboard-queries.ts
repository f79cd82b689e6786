// The PromQL of the dashboard the chart ships, and of Mattermost's published
// Calls dashboard, with Grafana's variables filled in for a given target.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./prometheus-bin.ts";

export const dashboardFile = join(repoRoot, "charts/mattermost-rtcd/files/monitoring/dashboard.json");

/** The row whose panels read the operator's metrics, not rtcd's. */
export const OPERATOR_ROW = "Autoscaling and media probe";

export interface Query {
  panel: string;
  /** The title of the row the panel is in. */
  row: string;
  refId: string;
  expr: string;
}

interface Panel {
  type: string;
  title: string;
  description?: string;
  targets?: { refId: string; expr?: string }[];
  panels?: Panel[];
}

/** Every panel, rows included, each with the title of the row it is in (a row is in itself). */
export function dashboardPanels(): (Panel & { row: string })[] {
  const d = JSON.parse(readFileSync(dashboardFile, "utf8")) as { panels: Panel[] };
  let row = "";
  return d.panels.flatMap((p) => {
    // A collapsed row holds its panels; an open one is followed by them.
    if (p.type === "row") row = p.title;
    return [p, ...(p.panels ?? [])].map((x) => ({ ...x, row }));
  });
}

export function dashboardQueries(): Query[] {
  return dashboardPanels().flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, row: p.row, refId: t.refId, expr: t.expr ?? "" })),
  );
}

/** Values for the dashboard's variables; each defaults to "All" (`.*`). */
export interface Variables {
  namespace?: string;
  instance?: string;
  pod?: string;
}

// Grafana's variables as the dashboard is opened with "All" selected (or
// with the given values picked); the rate interval as Grafana would pick it
// for a short scrape interval.
export function fillVariables(expr: string, rateInterval: string, vars: Variables = {}): string {
  return expr
    .replaceAll("$__rate_interval", rateInterval)
    .replaceAll("$namespace", vars.namespace ?? ".*")
    .replaceAll("$instance", vars.instance ?? ".*")
    .replaceAll("$pod", vars.pod ?? ".*");
}

// Every rtcd query of Mattermost's "Mattermost Calls Performance Monitoring"
// dashboard (grafana/mattermost-calls-performance-monitoring.json in
// mattermost/mattermost-performance-assets, commit 07c81145, June 2025),
// read off its panels: the rtcd_* ones. Its go_* panels (Go runtime memory,
// goroutines) and node_* panels (node exporter) query no rtcd metric; our
// rtcd is a Node process and exports rtcd_nodejs_* instead of go_*.
// `$rtcd:$rtcd_metrics_port` is its instance variable.
const MM_INSTANCE = 'instance=~"$rtcd:$rtcd_metrics_port"';
// Its histogram panels each plot the mean and the p99.
const meanAndP99 = (m: string, by: string): string[] => [
  `rate(${m}_sum{${MM_INSTANCE}}[2m]) / (rate(${m}_count{${MM_INSTANCE}}[2m]) > 0)`,
  `histogram_quantile(0.99, sum(rate(${m}_bucket{${MM_INSTANCE}}[2m])) by (${by}))`,
];
export const MATTERMOST_CALLS_DASHBOARD_QUERIES: string[] = [
  `avg(irate(rtcd_process_cpu_seconds_total{${MM_INSTANCE}}[2m])* 100) by (instance)`,
  `rtcd_ws_connections_total{${MM_INSTANCE}}`,
  `sum(rate(rtcd_ws_messages_total{${MM_INSTANCE}}[2m])) by (type, instance)`,
  `sum(rtcd_rtc_sessions_total{${MM_INSTANCE}}) by (instance)`,
  `sum(increase(rtcd_rtc_errors_total{${MM_INSTANCE}}[2m])) by (type, instance)`,
  `sum(rtcd_rtc_rtp_tracks_total{${MM_INSTANCE}}) by (instance, direction, type)`,
  ...meanAndP99("rtcd_rtc_rtp_tracks_writes_time", "type,le,instance"),
  `sum(increase(rtcd_rtc_conn_states_total{${MM_INSTANCE}}[2m])) by (instance, type)`,
  ...meanAndP99("rtcd_rtc_connection_time", "le,instance"),
  ...meanAndP99("rtcd_rtc_signaling_lock_grab_time", "le,instance"),
  ...meanAndP99("rtcd_rtc_signaling_lock_locked_time", "type,le,instance"),
  ...meanAndP99("rtcd_rtc_client_rtt", "le,instance"),
  ...meanAndP99("rtcd_rtc_client_jitter", "le,instance"),
  ...meanAndP99("rtcd_rtc_client_loss_rate", "le,instance"),
];

export function fillMattermostVariables(expr: string, instance: string): string {
  return expr.replaceAll("$rtcd:$rtcd_metrics_port", instance.replaceAll(".", "\\\\."));
}

// The metric names a query reads: identifiers that are neither functions,
// keywords, label names in a grouping, nor inside label matchers, strings or
// ranges.
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
]);
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(m.index + m[0].length).trimStart();
    if (after.startsWith("(") || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}
