// A SIGTERM that arrives while rtcd is still starting (Kubernetes deleting a
// pod whose worker is slow to come up) must end the process within 2 s.
// In the image rtcd is PID 1, where a signal without a handler is ignored,
// so the test runs it as PID 1 of its own PID namespace when the machine
// allows unprivileged namespaces, and as a plain child otherwise.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { WORKER_PATCH_MARKERS } from "../src/media/worker-bin.ts";
import { nodeBin, OURS_MAIN } from "./support/procs.ts";
import { until } from "./support/rtc-peer.ts";

const canUnshare = spawnSync("unshare", ["-Urpf", "--mount-proc", "true"]).status === 0;

// The pid of unshare's forked child (PID 1 inside the namespace).
function childOf(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
    return kids[0] ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

test(`SIGTERM before "started" exits within 2 s with a log line${canUnshare ? " (as PID 1)" : ""}`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "rtcd-sigterm-"));
  // A "worker" that passes the patch check and never reports itself
  // running, so start() hangs in createWorker.
  const worker = join(dir, "slow-worker");
  writeFileSync(worker, `#!/bin/sh\n# ${WORKER_PATCH_MARKERS.join(" ")}\nexec sleep 60\n`);
  chmodSync(worker, 0o755);
  const env = {
    PATH: process.env["PATH"] ?? "",
    HOME: dir,
    MEDIASOUP_WORKER_BIN: worker,
    RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
    RTCD_STORE_DATASOURCE: join(dir, "db"),
    RTCD_LOGGER_ENABLEFILE: "false",
    RTCD_LOGGER_CONSOLEJSON: "true",
  };
  const args = [OURS_MAIN, "--config", join(dir, "absent.toml")];
  const proc = canUnshare
    ? spawn("unshare", ["-Urpf", "--mount-proc", "--kill-child", nodeBin(), ...args], { env })
    : spawn(nodeBin(), args, { env });
  let out = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  try {
    // Starting, not started: the worker is being waited for.
    await until("rtcd to be starting", () => out.includes('"service: starting up"'), 15_000);
    const target = canUnshare ? childOf(proc.pid!) : proc.pid!;
    expect(target).toBeDefined();
    const t0 = performance.now();
    process.kill(target!, "SIGTERM");
    const code = await Promise.race([exited, quietFor(5000).then(() => "still running" as const)]);
    const took = performance.now() - t0;
    expect(code, out).toBe(0);
    expect(took).toBeLessThan(2000);
    expect(out).toContain('"msg":"service: SIGTERM before start finished, exiting"');
    expect(out).not.toContain('"service: started"');
  } finally {
    proc.kill("SIGKILL");
  }
}, 30_000);

// Nothing is expected to happen for `ms`: the deadline of the race above.
function quietFor(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
