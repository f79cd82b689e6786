import { describe, expect, it } from "vitest";
import { displayUnit, drawablePanels, legend, toPanels, type DashboardPanel } from "./prometheus-panels.ts";

describe("dashboard panels from Prometheus", () => {
  it("names series as Grafana's legendFormat does", () => {
    expect(legend("{{namespace}}/{{ pod }}", { namespace: "calls", pod: "rtcd-0" })).toBe("calls/rtcd-0");
    expect(legend("{{pod}} {{missing}}", { pod: "p" })).toBe("p");
    expect(legend(undefined, { a: "b" })).toBe('{"a":"b"}');
  });

  it("flattens rows, skips panels without queries, and keeps each target's series with times from t0", () => {
    const dash: DashboardPanel[] = [
      {
        type: "row",
        title: "Overview",
        panels: [{ type: "stat", title: "Calls", targets: [{ refId: "A", expr: "c" }] }],
      },
      { type: "text", title: "notes" },
      {
        type: "timeseries",
        title: "Join time",
        fieldConfig: { defaults: { unit: "s" } },
        targets: [
          { refId: "A", expr: "p50", legendFormat: "{{pod}} p50" },
          { refId: "B", expr: "p95", legendFormat: "{{pod}} p95" },
        ],
      },
    ];
    expect(drawablePanels(dash).map((p) => p.title)).toEqual(["Calls", "Join time"]);
    const answers: Record<string, [number, string][]> = {
      c: [
        [100, "1"],
        [102, "2"],
      ],
      p50: [[101, "0.25"]],
      p95: [],
    };
    const panels = toPanels(dash, (expr) => [{ metric: { pod: "rtcd-0" }, values: answers[expr]! }], 100);
    expect(panels[0]).toEqual({
      title: "Calls",
      series: [
        {
          name: '{"pod":"rtcd-0"}',
          points: [
            [0, 1],
            [2, 2],
          ],
        },
      ],
    });
    expect(panels[1]!.unit).toBe("s");
    expect(panels[1]!.series.map((s) => [s.name, s.points])).toEqual([
      ["rtcd-0 p50", [[1, 0.25]]],
      ["rtcd-0 p95", []],
    ]);
  });

  it("Grafana's units as a reader reads them: a ratio in %, bytes in MiB, a plain number unlabelled", () => {
    expect(displayUnit("percentunit")).toEqual({ unit: "%", scale: 100 });
    expect(displayUnit("bytes")).toEqual({ unit: "MiB", scale: 1 / 2 ** 20 });
    expect(displayUnit("short")).toEqual({ scale: 1 });
    expect(displayUnit(undefined)).toEqual({ scale: 1 });
    expect(displayUnit("s")).toEqual({ unit: "s", scale: 1 });
    const [cpu] = toPanels(
      [
        {
          type: "timeseries",
          title: "CPU",
          fieldConfig: { defaults: { unit: "percentunit" } },
          targets: [{ refId: "A", expr: "x" }],
        },
      ],
      () => [{ metric: {}, values: [[10, "0.25"]] }],
      10,
    );
    expect(cpu).toMatchObject({ unit: "%", series: [{ points: [[0, 25]] }] });
  });
});
