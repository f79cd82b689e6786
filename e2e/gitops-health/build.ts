// Builds (once, cached outside the repository keyed by the sources' hash) the
// small Go program that judges objects with Argo CD's Lua interpreter and
// Flux's kstatus library; see main.go.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../cluster/paths.ts";

const SOURCES = ["go.mod", "go.sum", "main.go"];

export function gitopsHealthBin(): string {
  const dir = import.meta.dirname;
  const h = createHash("sha256");
  for (const f of SOURCES)
    h.update(f)
      .update("\0")
      .update(readFileSync(join(dir, f)));
  const bin = join(cacheDir(), `gitops-health-${h.digest("hex").slice(0, 16)}`, "gitops-health");
  if (!existsSync(bin)) {
    execFileSync("go", ["build", "-trimpath", "-o", bin, "."], {
      cwd: dir,
      env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: process.env["GOFLAGS"] ?? "-buildvcs=false" },
      stdio: ["ignore", "inherit", "inherit"],
    });
  }
  return bin;
}

export interface Verdict {
  status: string;
  message: string;
}

/** How Argo CD (with our health.lua) and kstatus judge each object. */
export function judge(
  healthLua: string,
  objects: unknown[],
): { name: string; argo: Verdict; kstatus: Verdict }[] {
  const out = execFileSync(gitopsHealthBin(), [healthLua], {
    input: JSON.stringify(objects),
    encoding: "utf8",
  });
  return JSON.parse(out) as { name: string; argo: Verdict; kstatus: Verdict }[];
}
