import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { findCycles, importGraph } from "./import-cycles.ts";

const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

describe("findCycles", () => {
  it("finds none in a tree or a diamond", () => {
    expect(findCycles(g({ a: ["b", "c"], b: ["d"], c: ["d"], d: [] }))).toEqual([]);
  });

  it("names the modules of a cycle in import order, back to the first", () => {
    expect(findCycles(g({ index: ["nodes"], nodes: ["kube", "index"], kube: [] }))).toEqual([
      ["index", "nodes", "index"],
    ]);
    expect(findCycles(g({ a: ["b"], b: ["c"], c: ["a"], d: ["a"] }))).toEqual([["a", "b", "c", "a"]]);
  });

  it("reports a module importing itself and each separate cycle once", () => {
    expect(findCycles(g({ a: ["a"], b: ["c"], c: ["b"] }))).toEqual([
      ["a", "a"],
      ["b", "c", "b"],
    ]);
  });
});

describe("importGraph", () => {
  const tree = (files: Record<string, string>) => {
    const root = mkdtempSync(join(tmpdir(), "import-cycles-"));
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), text);
    }
    for (const w of ["operator", "rtcd", "e2e", "scripts"]) mkdirSync(join(root, w), { recursive: true });
    return root;
  };

  it("follows relative, re-export, dynamic and package-export imports, and flags relative ones across workspaces", () => {
    const root = tree({
      "e2e/package.json": JSON.stringify({
        exports: { "./testing": "./src/testing/index.ts", "./*": "./*" },
      }),
      "e2e/src/testing/index.ts": 'export { a } from "./a.ts";\n',
      "e2e/src/testing/a.ts": 'import type { X } from "./b.ts";\nexport const a = 1;\n',
      "e2e/src/testing/b.ts": 'export type X = 1;\nconst m = () => import("./a.ts");\n',
      "operator/test/x.test.ts":
        'import { a } from "@mattermost-rtcd/e2e/testing";\nimport "../../e2e/src/testing/b.ts";\nimport "node:fs";\n',
    });
    const { graph, crossings } = importGraph(root);
    expect(graph.get("e2e/src/testing/index.ts")).toEqual(["e2e/src/testing/a.ts"]);
    expect(graph.get("operator/test/x.test.ts")).toEqual([
      "e2e/src/testing/b.ts",
      "e2e/src/testing/index.ts",
    ]);
    expect(crossings).toEqual(["operator/test/x.test.ts -> e2e/src/testing/b.ts"]);
    expect(findCycles(graph)).toEqual([
      ["e2e/src/testing/a.ts", "e2e/src/testing/b.ts", "e2e/src/testing/a.ts"],
    ]);
  });
});
