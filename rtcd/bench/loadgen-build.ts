// Builds the Go load generator (rtcd/bench/loadgen) once per source hash,
// cached next to the rtcd v1.2.6 binary, like the contract runner.
import { join } from "node:path";
import { buildGoModule } from "../test/support/go-build.ts";

export const LOADGEN_DIR = join(import.meta.dirname, "loadgen");

export function buildLoadgen(): Promise<string> {
  return buildGoModule(LOADGEN_DIR, "media-loadgen", "loadgen");
}
