// The chart README's values table is generated; this fails when it is stale.
import { describe, expect, test } from "vitest";
import { END, START, expectedReadme, withTable } from "@mattermost-rtcd/operator/chart/values-table";

describe("charts/mattermost-rtcd/README.md", () => {
  test("its values table matches values.yaml and values.schema.json (regenerate: npm run generate)", () => {
    const { current, expected } = expectedReadme();
    expect(current).toBe(expected);
  });

  test("the table sits between the markers and nothing else changes", () => {
    const readme = `intro\n${START}\nold\n${END}\noutro\n`;
    expect(withTable(readme, "| new |")).toBe(`intro\n${START}\n| new |\n${END}\noutro\n`);
    expect(() => withTable("no markers", "x")).toThrow(/markers/);
  });
});
