// Every GitHub Actions workflow passes actionlint. The workflows cannot run on
// this machine (release.yml pushes to a public registry on a tag), so a lint
// is the most `npm test` can check of them; the steps that can run here are
// in `npm run release` (scripts/release.ts), which the workflow calls.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toolPath, versions } from "@mattermost-rtcd/e2e/cluster";

const root = join(import.meta.dirname, "..");
const workflowsDir = join(root, ".github", "workflows");

function actionlint(files: string[]): { status: number | null; output: string } {
  const bin = toolPath("actionlint");
  if (!existsSync(bin)) {
    throw new Error(
      `actionlint ${versions().ACTIONLINT_VERSION} is not built (${bin}); ` +
        "build it with: bash e2e/cluster/build-bins.sh actionlint",
    );
  }
  // -no-color: the failure message is read by people in a test report.
  const r = spawnSync(bin, ["-no-color", ...files], { cwd: root, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("GitHub Actions workflows", () => {
  const files = readdirSync(workflowsDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(".github", "workflows", f));

  it("include the release workflow", () => {
    expect(files).toContain(join(".github", "workflows", "release.yml"));
  });

  it("pass actionlint", () => {
    const r = actionlint(files);
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  it("would fail a broken workflow (the lint really runs)", () => {
    const dir = mkdtempSync(join(tmpdir(), "mmrtcd-actionlint-"));
    const broken = join(dir, "broken.yml");
    writeFileSync(
      broken,
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.no_such_context }}\n",
    );
    const r = actionlint([broken]);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/no_such_context/);
  });
});
