// Builds the Go load generator (rtcd/bench/loadgen) once per source hash,
// cached next to the rtcd v1.2.6 binary, like the contract runner.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { cacheRoot } from "../test/support/go-build.ts";

export const LOADGEN_DIR = join(import.meta.dirname, "loadgen");

// Keyed by the sources, go.mod and go.sum: editing any of them rebuilds.
export function loadgenHash(): string {
  const h = createHash("sha256");
  for (const f of readdirSync(LOADGEN_DIR).sort()) {
    if (!(f.endsWith(".go") || f === "go.mod" || f === "go.sum")) continue;
    h.update(f)
      .update("\0")
      .update(readFileSync(join(LOADGEN_DIR, f)))
      .update("\0");
  }
  return h.digest("hex").slice(0, 16);
}

export async function buildLoadgen(): Promise<string> {
  const path = join(cacheRoot(), `media-loadgen-${loadgenHash()}`, "loadgen");
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  // A temporary name, renamed when done: a killed build leaves no half binary.
  const tmp = `${path}.tmp-${process.pid}`;
  await new Promise<void>((resolve, reject) => {
    const p = spawn("go", ["build", "-trimpath", "-o", tmp, "."], {
      cwd: LOADGEN_DIR,
      stdio: ["ignore", "pipe", "pipe"],
      // The committed go.sum is the truth: never rewrite it.
      env: { ...process.env, GOFLAGS: "-mod=readonly -buildvcs=false" },
    });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`go build of the load generator failed (${code}):\n${out}`)),
    );
  });
  renameSync(tmp, path);
  return path;
}
