// What loading rtcd's code makes Node load besides. Node's built-in modules
// are loaded lazily, so an import can pull in a subsystem ours never uses
// and keep it in memory for the life of the process: importing node:http
// as an ES module did that with undici (Node's fetch and WebSocket client,
// a 745 KB bundle), about 4 MiB of rtcd's RSS at rest (docs/benchmarks.md,
// "Memory at rest"). The check runs in a fresh Node, as the image starts one.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect, test } from "vitest";
import { nodeBin } from "./support/procs.ts";

const SRC = join(import.meta.dirname, "../src");
// Subsystems no path of rtcd's uses: undici is Node's HTTP client (fetch,
// WebSocket); rtcd only serves HTTP and WebSocket.
const UNUSED = ["internal/deps/undici/undici"];

test("loading every rtcd module loads none of Node's unused subsystems", () => {
  // main.ts starts the service when imported; every module it starts from
  // is imported here, so its graph is covered.
  const files = readdirSync(SRC, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && f !== "main.ts" && !f.endsWith(".d.ts"))
    .map((f) => pathToFileURL(join(SRC, f)).href);
  expect(files.length).toBeGreaterThan(20);
  const script = `
    for (const f of ${JSON.stringify(files)}) await import(f);
    process.stdout.write(JSON.stringify(process.moduleLoadList));`;
  const r = spawnSync(nodeBin(), ["--input-type=module", "--no-warnings", "-e", script], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  expect(r.status, r.stderr).toBe(0);
  const loaded = JSON.parse(r.stdout) as string[];
  const unused = loaded.filter((m) => UNUSED.some((u) => m.endsWith(` ${u}`)));
  expect(
    unused,
    `loading ${files.length} modules of rtcd/src loaded these; an ES import of a built-in ` +
      "reads all its exports, lazy ones too (node:http's WebSocket loads undici): " +
      "take such a module from process.getBuiltinModule",
  ).toEqual([]);
});
