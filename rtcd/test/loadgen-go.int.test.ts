// The media benchmark's generator answers as a browser does: RTCP receiver
// reports (rtcd/bench/loadgen/rr.go) and transport-cc feedback for every
// packet that arrives, an SFU's probes on undeclared SSRCs included
// (twcc_tap.go). Its Go tests (sequence wrap, loss, jitter, LSR/DLSR,
// compound packets, header extensions, pion peers on loopback) run here so
// that `npm test` runs them.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { LOADGEN_DIR } from "../bench/loadgen-build.ts";
import { GO_BUILD_ENV } from "./support/go-build.ts";

function goTest(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("go", ["test", "-count=1", "./..."], {
      cwd: LOADGEN_DIR,
      env: { ...process.env, ...GO_BUILD_ENV },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out }));
  });
}

describe("load generator (Go)", () => {
  it("passes its Go tests", { timeout: 600_000 }, async () => {
    const { code, out } = await goTest();
    expect(code, out).toBe(0);
  });
});
