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
      for (const p of Object.values(OUTPUTS)) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
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

  it("are prettier-clean and the chart's CRD equals crds/", async () => {
    const files = await expectedFiles();
    expect(files.get(OUTPUTS.chartCrd)).toBe(files.get(OUTPUTS.crd));
    for (const [path, content] of files) {
      const options = (await prettier.resolveConfig(join(ROOT, path))) ?? {};
      expect(await prettier.check(content, { ...options, filepath: join(ROOT, path) }), path).toBe(true);
    }
    expect(readFileSync(join(ROOT, OUTPUTS.types), "utf8")).toContain("export interface MattermostRTCDSpec");
  });
});
