import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { stripTree, toJavaScript } from "./strip-types.ts";

const REPO = join(import.meta.dirname, "../..");

describe("TypeScript to the JavaScript Node runs, at image build", () => {
  test("types go, relative .ts specifiers become .js in every import form, the rest stays", () => {
    const js = toJavaScript(
      [
        `import { a, type B } from "./a.ts";`,
        `import type { C } from "../c.ts";`,
        `export { d } from './d/index.ts';`,
        `export * from "./e.ts";`,
        `import "./side.ts";`,
        `import { Router } from "mediasoup";`,
        `import { readFileSync } from "node:fs";`,
        `const m = await import("./lazy.ts");`,
        `const s: string = "./not-an-import.ts";`,
        `export function f(x: number): B { return x as unknown as B; }`,
      ].join("\n"),
    );
    expect(js).toContain(`from "./a.js"`);
    expect(js).toContain(`from './d/index.js'`);
    expect(js).toContain(`from "./e.js"`);
    expect(js).toContain(`import "./side.js"`);
    expect(js).toContain(`import("./lazy.js")`);
    expect(js).toContain(`from "mediasoup"`);
    expect(js).toContain(`from "node:fs"`);
    expect(js, "a string that is not a specifier").toContain(`"./not-an-import.ts"`);
    expect(js).not.toMatch(/: number|: string|type B|as unknown/);
    expect(js).not.toContain("../c.ts");
  });

  test("syntax that is not erasable is refused, naming the file", () => {
    expect(() => toJavaScript("enum E { A }")).toThrow();
  });

  describe("rtcd's own sources", () => {
    // Beside src, as in the image (version.ts reads ../package.json; packages
    // resolve from the repository's node_modules).
    const out = mkdtempSync(join(REPO, "rtcd", "dist-check-"));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    test("convert, load and run: the built main prints rtcd's version", () => {
      const n = stripTree(join(REPO, "rtcd", "src"), out);
      expect(n).toBeGreaterThan(40);
      const version = JSON.parse(readFileSync(join(REPO, "rtcd", "package.json"), "utf8")) as {
        version: string;
      };
      const printed = execFileSync(process.execPath, [join(out, "main.js"), "--version"], {
        encoding: "utf8",
      });
      expect(printed).toContain(version.version);
    });
  });
});
