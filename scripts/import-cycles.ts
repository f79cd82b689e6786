// `node scripts/import-cycles.ts`: fails when any module of the workspace
// (operator, rtcd, e2e, scripts) imports itself through a chain of imports, or
// reaches into another workspace by relative path instead of through that
// package's `exports` (docs/conventions.md). A cycle makes module
// initialisation order decide whether a binding is defined yet, and it hides
// which module is the leaf; we forbid them.
//
// Our own checker rather than madge or dependency-cruiser: those bring a large
// dependency tree into the lockfile for ~100 lines of work, and neither knows
// how our workspaces' `exports` map `@mattermost-rtcd/<pkg>/...` onto files
// without extra configuration. TypeScript's own pre-processor (already a
// devDependency) lists every static import, `export ... from` and dynamic
// `import()`; type-only imports count too (a cycle of types is still a cycle
// in the layering, and `tsc` emit could keep it).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

export type Graph = ReadonlyMap<string, readonly string[]>;

/**
 * Every cycle's strongly connected component (Tarjan), each given as one
 * concrete cycle `a -> b -> ... -> a` through it. Sorted for stable output.
 */
export function findCycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const sccs: string[][] = [];
  let next = 0;
  // Iterative so that a deep import chain cannot overflow the call stack.
  for (const start of [...graph.keys()].sort()) {
    if (index.has(start)) continue;
    const work: { node: string; edge: number }[] = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const edges = graph.get(top.node) ?? [];
      if (top.edge < edges.length) {
        const to = edges[top.edge++]!;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) === index.get(top.node)) {
        const scc: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          scc.push(n);
        } while (n !== top.node);
        const selfLoop = (graph.get(top.node) ?? []).includes(top.node);
        if (scc.length > 1 || selfLoop) sccs.push(scc);
      }
    }
  }
  return sccs.map((scc) => cycleThrough(graph, new Set(scc))).sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One cycle inside a strongly connected component: BFS from its first node back to itself. */
function cycleThrough(graph: Graph, scc: ReadonlySet<string>): string[] {
  const start = [...scc].sort()[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const n = queue.shift()!;
    for (const to of graph.get(n) ?? []) {
      if (!scc.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let m = n; m !== start; m = prev.get(m)!) path.splice(1, 0, m);
        return [...path, start];
      }
      if (!prev.has(to)) {
        prev.set(to, n);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

const WORKSPACES = ["operator", "rtcd", "e2e", "scripts"];
const SKIP_DIRS = new Set(["node_modules", "dist", ".tmp", ".git"]);

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

type Exports = Record<string, string>;

/** `@mattermost-rtcd/<pkg>/<sub>` to a file, through that workspace's package.json `exports`. */
function resolvePackage(root: string, spec: string, exportsOf: Map<string, Exports>): string | undefined {
  const m = /^@mattermost-rtcd\/([^/]+)(\/.*)?$/.exec(spec);
  if (!m) return undefined;
  const pkgDir = join(root, m[1]!);
  let exports = exportsOf.get(pkgDir);
  if (!exports) {
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { exports?: Exports };
    exports = pkg.exports ?? {};
    exportsOf.set(pkgDir, exports);
  }
  const sub = `.${m[2] ?? ""}`;
  if (exports[sub]) return resolve(pkgDir, exports[sub]);
  for (const [key, target] of Object.entries(exports)) {
    const star = key.indexOf("*");
    if (star < 0) continue;
    const [pre, post] = [key.slice(0, star), key.slice(star + 1)];
    if (sub.startsWith(pre) && sub.endsWith(post) && sub.length >= pre.length + post.length) {
      return resolve(pkgDir, target.replace("*", sub.slice(pre.length, sub.length - post.length)));
    }
  }
  throw new Error(`${spec} is not exported by ${relative(root, pkgDir)}/package.json`);
}

const workspaceOf = (rel: string) => rel.split("/")[0]!;

export interface ImportGraph {
  /** file -> files it imports (paths relative to root). */
  graph: Map<string, string[]>;
  /** `file -> target` for relative imports that leave the file's workspace. */
  crossings: string[];
}

/** The workspace's import graph. */
export function importGraph(root: string): ImportGraph {
  const exportsOf = new Map<string, Exports>();
  const graph = new Map<string, string[]>();
  const crossings: string[] = [];
  for (const file of WORKSPACES.flatMap((w) => tsFiles(join(root, w)))) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const deps = new Set<string>();
    for (const { fileName: spec } of info.importedFiles) {
      const target = spec.startsWith(".")
        ? resolve(dirname(file), spec)
        : resolvePackage(root, spec, exportsOf);
      if (!target || !target.endsWith(".ts") || !existsSync(target)) continue;
      const [from, to] = [relative(root, file), relative(root, target)];
      deps.add(to);
      if (spec.startsWith(".") && workspaceOf(from) !== workspaceOf(to)) crossings.push(`${from} -> ${to}`);
    }
    graph.set(relative(root, file), [...deps].sort());
  }
  return { graph, crossings };
}

if (import.meta.main) {
  const root = join(import.meta.dirname, "..");
  const { graph, crossings } = importGraph(root);
  const cycles = findCycles(graph);
  for (const c of cycles) process.stdout.write(`import cycle: ${c.join(" -> ")}\n`);
  for (const c of crossings)
    process.stdout.write(`relative import across workspaces (use the package's exports): ${c}\n`);
  process.stdout.write(
    `${graph.size} modules, ${cycles.length} import cycle(s), ${crossings.length} cross-workspace relative import(s)\n`,
  );
  process.exit(cycles.length || crossings.length ? 1 : 0);
}
