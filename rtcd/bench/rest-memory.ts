// Memory at rest: each rtcd started, ready and idle (no call), then its
// resident memory read from /proc: the main process and its children (our
// mediasoup workers), with the anonymous part (heap, what the process
// itself allocated) apart from the file-backed part (the mapped binary).
// Ours twice: from the TypeScript sources, as the tests run it, and from the
// JavaScript the image runs (scripts/image/strip-types.ts).
//
//   npm run bench:rest-memory
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRealRtcd } from "../test/support/go-build.ts";
import { nodeBin, startRtcd, stopRtcd, type Impl } from "../test/support/procs.ts";
import { children } from "./proc-stats.ts";

const REPO = join(import.meta.dirname, "../..");
const DIST = join(REPO, "rtcd", "dist");

function kib(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

interface Row {
  what: string;
  main: { rss: number; anon: number; file: number };
  workers: number[];
}

async function measure(what: string, impl: Impl, main?: string): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "rest-memory-"));
  const r = await startRtcd({
    impl,
    realBinary: impl === "rtcd" ? await buildRealRtcd() : "",
    dir,
    env: { RTCD_LOGGER_CONSOLELEVEL: "INFO" },
    name: impl,
    ...(main ? { main } : {}),
  });
  try {
    // Ready (ours: its first CPU sample taken) and no call: at rest.
    const pid = r.proc.pid!;
    const mib = (k: number) => +(k / 1024).toFixed(1);
    return {
      what,
      main: { rss: mib(kib(pid, "VmRSS")), anon: mib(kib(pid, "RssAnon")), file: mib(kib(pid, "RssFile")) },
      workers: children(pid).map((c) => mib(kib(c, "VmRSS"))),
    };
  } finally {
    await stopRtcd(r);
    rmSync(dir, { recursive: true, force: true });
  }
}

const built = spawnSync(
  nodeBin(),
  [join(REPO, "scripts/image/strip-types.ts"), join(REPO, "rtcd/src"), DIST],
  {
    encoding: "utf8",
  },
);
if (built.status !== 0) throw new Error(`strip-types failed: ${built.stderr}`);
const rows = [
  await measure("ours, from the .ts sources (tests)", "ours"),
  await measure("ours, built JavaScript (the image)", "ours", join(DIST, "main.js")),
  await measure("Mattermost's rtcd v1.2.6", "rtcd"),
];
process.stdout.write(
  [
    "| rtcd | main process RSS MiB (anon + file) | workers RSS MiB | total MiB |",
    "| --- | --- | --- | --- |",
    ...rows.map((x) => {
      const total = x.main.rss + x.workers.reduce((a, b) => a + b, 0);
      return `| ${x.what} | ${x.main.rss} (${x.main.anon} + ${x.main.file}) | ${x.workers.join(", ") || "-"} | ${total.toFixed(1)} |`;
    }),
    "",
    "rerun: npm run bench:rest-memory",
    "",
  ].join("\n"),
);
