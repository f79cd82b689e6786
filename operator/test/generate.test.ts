import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as prettier from "prettier";
import { OUTPUTS, ROOT, expectedFiles, staleFiles } from "../scripts/generate.ts";

const run = promisify(execFile);
const script = join(ROOT, "operator/scripts/generate.ts");

describe("generated files", () => {
  it("are fresh: `generate.ts --check` exits 0 (run npm run generate after changing the schema)", async () => {
    expect(await staleFiles()).toEqual([]);
    const { stdout, stderr } = await run(process.execPath, [script, "--check"], { cwd: ROOT });
    expect(stdout + stderr).toBe("");
  });

  it("--check fails and names the stale file when one differs", async () => {
    // A scratch copy of the outputs, so that the real files stay untouched.
    const dir = mkdtempSync(join(tmpdir(), "gen-"));
    try {
      for (const p of [...Object.values(OUTPUTS), "charts/mattermost-rtcd/values.yaml"]) {
        cpSync(join(ROOT, p), join(dir, p), { recursive: true });
      }
      writeFileSync(join(dir, OUTPUTS.chartCrd), "stale\n");
      const err = await run(process.execPath, [script, "--check", "--root", dir], { cwd: ROOT }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(1);
      expect(err?.stderr).toContain(OUTPUTS.chartCrd);
      expect(err?.stderr).toContain("run npm run generate");
      expect(err?.stderr).not.toContain(`stale: ${OUTPUTS.crd}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The chart's values schema and README table come from operator/chart/values-schema.ts
  // and values.yaml: a hand edit to either output, or a default changed in values.yaml
  // without regenerating, is caught.
  it.for<[string, string, (text: string) => string]>([
    [
      "values.schema.json edited by hand",
      "charts/mattermost-rtcd/values.schema.json",
      (t) => t.replace('"minimum": 0', '"minimum": 1'),
    ],
    [
      "the README table edited by hand",
      "charts/mattermost-rtcd/README.md",
      (t) => t.replace("| `image.pullPolicy` |", "| `image.pulPolicy` |"),
    ],
    [
      "a default changed in values.yaml",
      "charts/mattermost-rtcd/values.yaml",
      (t) => t.replace("replicas: 2", "replicas: 3"),
    ],
  ])("--check names the chart's stale file: %s", async ([, altered, edit]) => {
    const dir = mkdtempSync(join(tmpdir(), "gen-"));
    try {
      for (const p of [...Object.values(OUTPUTS), "charts/mattermost-rtcd/values.yaml"]) {
        cpSync(join(ROOT, p), join(dir, p), { recursive: true });
      }
      expect(await staleFiles(dir)).toEqual([]);
      const before = readFileSync(join(dir, altered), "utf8");
      writeFileSync(join(dir, altered), edit(before));
      expect(readFileSync(join(dir, altered), "utf8")).not.toBe(before);
      const stale = altered.endsWith("values.yaml") ? "charts/mattermost-rtcd/README.md" : altered;
      expect(await staleFiles(dir)).toEqual([stale]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("are prettier-clean and the chart's CRD equals crds/", async () => {
    const files = await expectedFiles();
    expect(files.get(OUTPUTS.chartCrd)).toBe(files.get(OUTPUTS.crd));
    for (const [path, content] of files) {
      // Prettier ignores Markdown here (.prettierignore); only the table between the markers is generated.
      if (path.endsWith(".md")) continue;
      const options = (await prettier.resolveConfig(join(ROOT, path))) ?? {};
      expect(await prettier.check(content, { ...options, filepath: join(ROOT, path) }), path).toBe(true);
    }
    expect(readFileSync(join(ROOT, OUTPUTS.types), "utf8")).toContain("export interface MattermostRTCDSpec");
  });
});
