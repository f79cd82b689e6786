import { describe, expect, it } from "vitest";
import { dashboardSvg, escapeXml, niceMax, shorten, type Panel } from "./svg.ts";

const layout = { title: "t", columns: 2, panelWidth: 300, panelHeight: 200, xLabel: "seconds" };

describe("SVG charts", () => {
  it("rounds axis tops up to 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.3, 1, 1.1, 3, 7, 10, 42, 999].map(niceMax)).toEqual([1, 0.5, 1, 2, 5, 10, 10, 50, 1000]);
  });

  it("draws each series as a polyline scaled into its panel, with its name", () => {
    const p: Panel = {
      title: "calls",
      series: [
        {
          name: "pod-a",
          points: [
            [0, 0],
            [10, 5],
          ],
        },
      ],
    };
    const svg = dashboardSvg([p], layout);
    expect(svg.startsWith("<svg")).toBe(true);
    // x 0..10 -> 48..288 (300 wide, 48 left, 12 right); y 0..5 -> 160..28 (200 high, 28 top, 40 bottom).
    expect(svg).toContain('points="48.0,144.0 288.0,28.0"');
    expect(svg).toContain(">pod-a</text>");
  });

  it("says 'no data' for a panel with nothing to draw, and escapes text", () => {
    const svg = dashboardSvg([{ title: "a < b & c", series: [{ name: "x", points: [] }] }], layout);
    expect(svg).toContain("no data");
    expect(svg).toContain("a &lt; b &amp; c");
    expect(escapeXml(`"'`)).toBe("&quot;&apos;");
  });

  it("is deterministic", () => {
    const p: Panel = {
      title: "x",
      series: [
        {
          name: "s",
          points: [
            [1, 2],
            [2, 3],
          ],
        },
      ],
    };
    expect(dashboardSvg([p, p, p], layout)).toBe(dashboardSvg([p, p, p], layout));
  });

  it("puts the unit in the title and caps the legend at six entries, the last saying how many more", () => {
    const series = Array.from({ length: 9 }, (_, i) => ({ name: `series-${i}`, points: [[0, i]] as const }));
    const svg = dashboardSvg([{ title: "refusals", unit: "per s", series }], layout);
    expect(svg).toContain("refusals (per s)");
    expect(svg.match(/<polyline/g)).toHaveLength(9);
    expect(svg).toContain("series-4<");
    expect(svg).not.toContain("series-5<");
    expect(svg).toContain("+4 more");
    expect(shorten("mattermost-rtcd-0 auth_bad_key", 10)).toBe("mattermos…");
  });
});
