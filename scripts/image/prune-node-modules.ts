// Leaves in node_modules only what one workspace needs at run time: the
// closure of its `dependencies` (and their optional and peer dependencies
// that are installed) as package-lock.json resolves them. `npm ci --workspace
// W --omit=dev` installs the production dependencies of every workspace,
// so without this the rtcd image carried the operator's (werift and its
// media libraries: about 22 MB).
//
//   node scripts/image/prune-node-modules.ts <root> <workspace dir>
//
// Runs in the image builds (Node 24 runs TypeScript directly).
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface LockPackage {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  dev?: boolean;
  link?: boolean;
  resolved?: string;
}

/** Where Node finds `name` from the package at lock path `from`: the nearest node_modules up the tree. */
export function resolveIn(
  packages: Record<string, LockPackage>,
  from: string,
  name: string,
): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (candidate in packages) return candidate;
    if (!dir) return undefined;
    const up = dir.lastIndexOf("/node_modules/");
    dir = up === -1 ? "" : dir.slice(0, up);
  }
}

/** The lock paths (`node_modules/…`) the workspace at lock path `workspace` needs at run time. */
export function productionClosure(packages: Record<string, LockPackage>, workspace: string): Set<string> {
  const keep = new Set<string>();
  const visit = (path: string, required: boolean) => {
    const pkg = packages[path];
    if (!pkg) return;
    const deps = [
      ...Object.keys(pkg.dependencies ?? {}).map((n) => [n, true] as const),
      // Optional and peer dependencies are kept when installed, never required.
      ...Object.keys(pkg.optionalDependencies ?? {}).map((n) => [n, false] as const),
      ...Object.keys(pkg.peerDependencies ?? {}).map((n) => [n, false] as const),
    ];
    for (const [name, must] of deps) {
      const at = resolveIn(packages, path, name);
      if (!at) {
        if (must && required)
          throw new Error(`${path || "the root"} needs ${name}, which the lock does not install`);
        continue;
      }
      if (keep.has(at)) continue;
      keep.add(at);
      visit(at, must);
    }
  };
  visit(workspace, true);
  return keep;
}

/** Deletes every installed package under root/node_modules not in `keep`; returns what it deleted. */
function prune(root: string, keep: Set<string>): string[] {
  const removed: string[] = [];
  const walk = (dir: string, lockDir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith(".")) continue;
      if (entry.startsWith("@")) {
        walk(join(dir, entry), `${lockDir}/${entry}`);
        if (readdirSync(join(dir, entry)).length === 0) rmSync(join(dir, entry), { recursive: true });
        continue;
      }
      const path = `${lockDir}/${entry}`;
      if (keep.has(path)) {
        walk(join(dir, entry, "node_modules"), `${path}/node_modules`);
      } else {
        rmSync(join(dir, entry), { recursive: true, force: true });
        removed.push(path);
      }
    }
  };
  walk(join(root, "node_modules"), "node_modules");
  return removed;
}

if (import.meta.main) {
  const [root, workspace] = process.argv.slice(2);
  if (!root || !workspace) {
    process.stderr.write("usage: prune-node-modules.ts <root> <workspace dir>\n");
    process.exit(2);
  }
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockPackage>;
  };
  const keep = productionClosure(lock.packages, workspace);
  const removed = prune(root, keep);
  process.stdout.write(
    JSON.stringify({ msg: "pruned node_modules", workspace, kept: keep.size, removed: removed.length }) +
      "\n",
  );
}
