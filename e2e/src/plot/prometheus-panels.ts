// A Grafana dashboard's panels, drawn from Prometheus range queries: each
// target's series named by its legendFormat, as Grafana would name them.
// Pure: the queries' results come in, panels for svg.ts go out.
import type { Panel, Series } from "./svg.ts";

export interface DashboardPanel {
  type: string;
  title: string;
  targets?: { refId: string; expr?: string; legendFormat?: string }[];
  fieldConfig?: { defaults?: { unit?: string } };
  panels?: DashboardPanel[];
}

/** One series of a range query's answer (Prometheus's matrix). */
export interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/** Grafana's {{label}} substitution; a missing label becomes empty, as in Grafana. */
export function legend(format: string | undefined, metric: Record<string, string>): string {
  if (!format) return JSON.stringify(metric);
  return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, k: string) => metric[k] ?? "").trim();
}

/** Every panel that queries something, rows flattened, in the dashboard's order. */
export function drawablePanels(panels: readonly DashboardPanel[]): DashboardPanel[] {
  return panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.targets?.some((t) => t.expr));
}

/**
 * `results(expr)` answers one target's query; x is seconds since `t0`.
 * Grafana's units are kept as a label on the axis (percentunit, s, bytes...).
 */
export function toPanels(
  panels: readonly DashboardPanel[],
  results: (expr: string) => RangeSeries[],
  t0: number,
): Panel[] {
  return drawablePanels(panels).map((p) => {
    const series: Series[] = [];
    for (const t of p.targets ?? []) {
      if (!t.expr) continue;
      for (const s of results(t.expr)) {
        series.push({
          name: legend(t.legendFormat, s.metric),
          points: s.values.map(([at, v]) => [Math.round((at - t0) * 10) / 10, Number(v)] as const),
        });
      }
    }
    const unit = p.fieldConfig?.defaults?.unit;
    return { title: p.title, ...(unit ? { unit } : {}), series };
  });
}
