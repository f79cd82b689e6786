// Pictures drawn from real runs: SVG line charts, and a Grafana dashboard's
// panels from Prometheus range queries.
export { dashboardSvg, type Layout, type Panel, type Series } from "./svg.ts";
export {
  drawablePanels,
  legend,
  toPanels,
  type DashboardPanel,
  type RangeSeries,
} from "./prometheus-panels.ts";
