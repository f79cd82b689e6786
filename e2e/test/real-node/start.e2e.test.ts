// The newcomer's path on real nodes: `npm start -- --real-node` brings up the
// sample on two real kubelets running our rtcd image, and `npm run test-call`
// makes a call through it with real WebRTC peers and says what each
// participant received. Both are the commands the README gives, run as a
// user runs them (child processes, their exit codes and output).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tryKubectl, useCluster, useNamespace } from "../../src/testing/index.ts";
import { ensureRealNodes, realNodeSkipReason, realNodesReleased } from "../../src/testing/real-node.ts";
import { repoRoot } from "../../src/testing/providers.ts";

const skip = realNodeSkipReason();
const ns = skip ? { name: "unused" } : useNamespace("start-real");

function run(script: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env: { ...process.env, SAMPLE_NAMESPACE: ns.name },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
}

describe.skipIf(!!skip)("npm start -- --real-node, then npm run test-call", () => {
  beforeAll(async () => {
    await useCluster();
    await ensureRealNodes(2);
  }, 2_700_000);

  afterAll(async () => {
    // The sample's pods hold host ports the next real-node test needs: gone before it starts.
    await tryKubectl(["delete", "mattermostrtcd", "--all", "-n", ns.name, "--wait=true"]);
    await realNodesReleased(ns.name);
  });

  test("the sample runs on real nodes and a 3-person test call carries everyone's audio to everyone", async () => {
    const start = await run("scripts/start.ts", ["--real-node", "--exit-when-ready"]);
    expect(start.code, start.out.slice(-3000)).toBe(0);
    expect(start.out).toContain("npm run test-call");

    const call = await run("scripts/test-call.ts", [
      "--namespace",
      ns.name,
      "--participants",
      "3",
      "--seconds",
      "3",
    ]);
    process.stderr.write(`[start-real] test call:\n${call.out}\n`);
    expect(call.code, call.out).toBe(0);
    expect(call.out).toMatch(/pod rtcd-[a-z0-9-]+ on node real-node-\d/);
    expect(call.out).toContain("OK: every participant heard every other one");
    // Each of the three heard the two others, by name.
    for (const [who, others] of [
      ["alice", "bob|carol"],
      ["bob", "alice|carol"],
      ["carol", "alice|bob"],
    ] as const)
      expect(call.out, who).toMatch(
        new RegExp(
          `${who} +connected.*\\n +heard (${others}): \\d+ packets.*\\n +heard (${others}): \\d+ packets`,
        ),
      );
  });
});
