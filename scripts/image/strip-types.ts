// Turns a tree of TypeScript sources into the JavaScript Node would run
// from them, once, at image build: Node's own type stripping
// (module.stripTypeScriptTypes, the transform it applies when it loads a .ts
// file), with relative `.ts` import specifiers rewritten to `.js` as tsc's
// rewriteRelativeImportExtensions does.
//
// Why: run from .ts, Node loads its TypeScript stripper (swc compiled to
// WebAssembly) and keeps its memory for the life of the process: about 30
// MiB of rtcd's 120 MiB RSS at rest (docs/benchmarks.md, "Memory at rest").
// The sources must be erasable-only TypeScript (tsconfig's
// erasableSyntaxOnly); anything else fails here, not at run time.
//
//   node scripts/image/strip-types.ts <source dir> <output dir>
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { dirname, join, relative } from "node:path";

// Specifiers of static imports and re-exports (`from "./x.ts"`), bare
// imports (`import "./x.ts"`) and dynamic ones (`import("./x.ts")`): the
// forms tsc rewrites. Relative only; packages and node: builtins stay.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g;

/** The JavaScript for one module's TypeScript source. */
export function toJavaScript(source: string): string {
  const js = stripTypeScriptTypes(source, { mode: "strip" });
  return js.replace(SPECIFIER, (_m, lead: string, q: string, path: string) => `${lead}${q}${path}.js${q}`);
}

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) yield p;
  }
}

/** Writes `<out>/<path>.js` for every `<src>/<path>.ts`; returns how many. */
export function stripTree(src: string, out: string): number {
  let n = 0;
  for (const file of tsFiles(src)) {
    const target = join(out, relative(src, file)).replace(/\.ts$/, ".js");
    let js: string;
    try {
      js = toJavaScript(readFileSync(file, "utf8"));
    } catch (err) {
      throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
    n++;
  }
  return n;
}

if (import.meta.main) {
  const [src, out] = process.argv.slice(2);
  if (!src || !out) {
    process.stderr.write("usage: node scripts/image/strip-types.ts <source dir> <output dir>\n");
    process.exit(2);
  }
  process.stdout.write(`${stripTree(src, out)} modules: ${src} -> ${out}\n`);
}
