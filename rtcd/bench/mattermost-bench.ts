// The benchmark through the real path: the Calls plugin's own load-test
// client (`lt`) joins users through a real Mattermost server into one call
// hosted by the rtcd under test; ours, then Mattermost's rtcd v1.2.6 with
// --compare. The rtcd runs alone on CPU 0 (taskset); this script, and so
// PostgreSQL, Mattermost and lt, on CPU 1, so the figures measure the rtcd.
//
//   npm run bench:mattermost -- --users 10 --unmuted 2 --screen 1 --duration 60 --compare
//   npm run bench:mattermost -- ... --impl ours|rtcd
//
// Prints per rtcd: CPU seconds (ours = Node + mediasoup workers), RSS before
// the call and at its peak, users connected, remote tracks expected and
// received, and the loss, RTT and jitter lt's clients report.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Impl } from "../test/support/procs.ts";
import { startStack, type Stack } from "../test/mattermost/stack.ts";
import { children, cpuSeconds, rssMiB } from "./proc-stats.ts";

const ADMIN = { username: "admin", password: "Admin-password-1!" };

interface Row {
  impl: Impl;
  cpu: number;
  rssBefore: number;
  rssPeak: number;
  connected: number;
  expected: number;
  received: number;
  badIDs: number;
  loss: number;
  rtt: number;
  jitter: number;
}

function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      out.push(...children(out[i]!));
    } catch {
      // exited between listing and reading
    }
  }
  return out;
}

function treeRssMiB(pids: number[]): number {
  let mib = 0;
  for (const p of pids) {
    try {
      mib += rssMiB(p);
    } catch {
      // exited
    }
  }
  return mib;
}

function treeCpu(pids: number[]): number {
  return pids.reduce((n, p) => {
    try {
      return n + cpuSeconds(p);
    } catch {
      return n;
    }
  }, 0);
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** What lt's clients logged: connections, remote tracks, and their RTC monitor figures. */
export function parseLtLog(text: string): Omit<Row, "impl" | "cpu" | "rssBefore" | "rssPeak" | "expected"> {
  const lines = text.split("\n");
  const num = (l: string, k: string) => Number(new RegExp(`\\b${k}=(-?[0-9.e+-]+)`).exec(l)?.[1] ?? NaN);
  const stats = lines.filter((l) => l.includes('msg="rtc stats"'));
  return {
    connected: lines.filter((l) => l.includes('msg="connected to call"')).length,
    received: lines.filter((l) => l.includes('msg="received remote track"')).length,
    badIDs: lines.filter((l) => l.includes("failed to parse track ID")).length,
    loss: mean(stats.map((l) => num(l, "lossRate")).filter((x) => x >= 0)),
    rtt: mean(stats.map((l) => num(l, "rtt")).filter((x) => x > 0)),
    jitter: mean(stats.map((l) => num(l, "jitter")).filter((x) => x >= 0)),
  };
}

async function runOne(
  impl: Impl,
  o: { users: number; unmuted: number; screen: number; duration: number },
): Promise<Row> {
  let stack: Stack | undefined;
  try {
    stack = await startStack({ impl, rtcdCPUs: "0", withDriver: false });
    const rtcdPid = stack.rtcds[0]!.proc.proc.pid!;
    const rssBefore = treeRssMiB(tree(rtcdPid));
    const cpu0 = treeCpu(tree(rtcdPid));
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, treeRssMiB(tree(rtcdPid)))), 500);
    const logFile = join(stack.dir, "lt.log");
    const log = createWriteStream(logFile);
    const lt = spawn(
      stack.built.lt,
      [
        ...["-url", stack.mm.url, "-team", stack.mm.teamID, "-channel", stack.mm.channelID],
        ...["-admin-username", ADMIN.username, "-admin-password", ADMIN.password],
        ...["-calls", "1", "-users-per-call", String(o.users), "-unmuted", String(o.unmuted)],
        ...["-screen-sharing", String(o.screen), "-join-duration", "5s", "-duration", `${o.duration}s`],
      ],
      { cwd: stack.built.ltDir, stdio: ["ignore", "pipe", "pipe"] },
    );
    lt.stdout.pipe(log);
    lt.stderr.pipe(log);
    await new Promise((r) => lt.on("exit", r));
    // CPU measured up to the end of the call, before the rtcd is stopped.
    const cpu = treeCpu(tree(rtcdPid)) - cpu0;
    clearInterval(sampler);
    await new Promise((r) => log.end(r));
    const parsed = parseLtLog(readFileSync(logFile, "utf8"));
    const expected = (o.unmuted + o.screen) * (o.users - 1);
    return { impl, cpu, rssBefore, rssPeak, expected, ...parsed };
  } finally {
    await stack?.stop();
  }
}

function table(rows: Row[], o: { users: number; unmuted: number; screen: number; duration: number }): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
  const head =
    "| rtcd | users/unmuted/screen, s | connected | remote tracks (expected) | bad track IDs | rtcd CPU s | RSS before → peak MiB | loss rate | RTT ms | jitter |\n" +
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |";
  const body = rows.map(
    (r) =>
      `| ${r.impl === "ours" ? "ours" : "Mattermost v1.2.6"} | ${o.users}/${o.unmuted}/${o.screen}, ${o.duration} | ${r.connected} | ${r.received} (${r.expected}) | ${r.badIDs} | ${f(r.cpu, 2)} | ${f(r.rssBefore, 0)} → ${f(r.rssPeak, 0)} | ${f(r.loss, 4)} | ${f(r.rtt, 1)} | ${f(r.jitter, 4)} |`,
  );
  return [head, ...body].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: "string", default: "10" },
      unmuted: { type: "string", default: "2" },
      screen: { type: "string", default: "1" },
      duration: { type: "string", default: "60" },
      impl: { type: "string", default: "ours" },
      compare: { type: "boolean", default: false },
    },
  });
  // Everything but the rtcd on CPU 1: re-run this script pinned there.
  if (!process.env["MM_BENCH_PINNED"]) {
    const r = spawnSync(
      "taskset",
      ["-c", "1", process.execPath, ...process.execArgv, ...process.argv.slice(1)],
      {
        stdio: "inherit",
        env: { ...process.env, MM_BENCH_PINNED: "1" },
      },
    );
    process.exit(r.status ?? 1);
  }
  const o = {
    users: Number(values.users),
    unmuted: Number(values.unmuted),
    screen: Number(values.screen),
    duration: Number(values.duration),
  };
  const impls: Impl[] = values.compare ? ["ours", "rtcd"] : [values.impl === "rtcd" ? "rtcd" : "ours"];
  const rows: Row[] = [];
  for (const impl of impls) {
    process.stderr.write(JSON.stringify({ msg: "bench: running", impl, ...o }) + "\n");
    rows.push(await runOne(impl, o));
  }
  process.stdout.write(table(rows, o) + "\n");
}

if (import.meta.main) await main();
