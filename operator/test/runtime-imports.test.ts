// The operator process loads no module of @kubernetes/client-node: importing
// it costs about 40 MiB of resident memory at rest (its generated API and
// every cloud auth provider load with KubeConfig), which is most of what the
// operator held before its first CR (docs/benchmarks.md). Types from it are
// fine: they are erased. This runs the operator's entry point and records
// every module Node resolves.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

// A resolve hook that prints every resolved URL of the given package.
const hook = `
import { registerHooks } from "node:module";
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    if (r.url.includes("/node_modules/@kubernetes/client-node/")) process.stderr.write("LOADED " + r.url + "\\n");
    return r;
  },
});`;

describe("the operator's runtime dependencies", () => {
  it("loads no module of @kubernetes/client-node", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", `data:text/javascript,${encodeURIComponent(hook)}`, main, "--help"],
      {
        encoding: "utf8",
      },
    );
    expect(r.status, r.stderr).toBe(0);
    // The hook works: the CLI's own modules were resolved through it.
    expect(r.stdout).toContain("run");
    const loaded = r.stderr.split("\n").filter((l) => l.startsWith("LOADED "));
    expect(loaded, "client-node modules the operator loaded").toEqual([]);
  });
});
