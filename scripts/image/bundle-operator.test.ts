// The operator's bundle (what its image runs): V8 keeps a script's source
// text for the life of the process, and holds it as UTF-16 if one character
// above U+00FF appears anywhere in it, twice the memory of the same text in
// one byte per character. The bundle must stay ASCII, and still run.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const REPO = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "bundle-operator-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the operator's bundle", () => {
  it("is ASCII only, and runs", () => {
    const dist = join(dir, "dist");
    execFileSync("bash", [join(REPO, "scripts/image/bundle-operator.sh"), dist], { stdio: "pipe" });
    // src/version.ts reads the package.json one level above dist, as in the image.
    copyFileSync(join(REPO, "operator/package.json"), join(dir, "package.json"));
    const files = readdirSync(dist).filter((f) => f.endsWith(".js"));
    expect(files).toContain("main.js");
    for (const f of files) {
      const text = readFileSync(join(dist, f), "utf8");
      const wide = [...new Set(text.match(/[\u0080-\uffff]/g) ?? [])];
      expect(wide, `${f} holds characters beyond ASCII`).toEqual([]);
    }
    const version = execFileSync(process.execPath, [join(dist, "main.js"), "version"], { encoding: "utf8" });
    expect(version).toContain(JSON.parse(readFileSync(join(REPO, "operator/package.json"), "utf8")).version);
  });
});
