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
 * A Grafana unit as a picture shows it: the label and the factor the values
 * are multiplied by (a ratio as %, bytes as MiB); `short` (a plain number)
 * and an absent unit have no label.
 */
export function displayUnit(unit: string | undefined): { unit?: string; scale: number } {
  switch (unit) {
    case undefined:
    case "":
    case "short":
    case "none":
      return { scale: 1 };
    case "percentunit":
      return { unit: "%", scale: 100 };
    case "bytes":
      return { unit: "MiB", scale: 1 / 2 ** 20 };
    case "reqps":
      return { unit: "per s", scale: 1 };
    default:
      return { unit, scale: 1 };
  }
}

/**
 * `results(expr)` answers one target's query; x is seconds since `t0`.
 * Grafana's units become the picture's (displayUnit).
 */
export function toPanels(
  panels: readonly DashboardPanel[],
  results: (expr: string) => RangeSeries[],
  t0: number,
): Panel[] {
  return drawablePanels(panels).map((p) => {
    const { unit, scale } = displayUnit(p.fieldConfig?.defaults?.unit);
    const series: Series[] = [];
    for (const t of p.targets ?? []) {
      if (!t.expr) continue;
      for (const s of results(t.expr)) {
        series.push({
          name: legend(t.legendFormat, s.metric),
          points: s.values.map(([at, v]) => [Math.round((at - t0) * 10) / 10, Number(v) * scale] as const),
        });
      }
    }
    return { title: p.title, ...(unit ? { unit } : {}), series };
  });
}
