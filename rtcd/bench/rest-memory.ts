// Memory at rest, and after the work every deployment does at start: each
// rtcd started, ready and idle (no call), its resident memory read from
// /proc (the main process, anonymous and file-backed parts apart, and its
// children, our mediasoup workers); then three rounds of four concurrent
// client registrations through the admin API (each a slow key hash: for
// ours a 16 MiB scrypt on one of libuv's threads, as every auth check is),
// and the main process's RSS again.
//
// Ours from the TypeScript sources (as the tests run it), and from the
// JavaScript the image runs (scripts/image/strip-types.ts) without and with
// the malloc setting of the image's Dockerfile (read from it, the one place
// it is written).
//
//   npm run bench:rest-memory
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRealRtcd } from "../test/support/go-build.ts";
import { nodeBin, startRtcd, stopRtcd, type Impl } from "../test/support/procs.ts";
import { children, statusKiB as kib } from "./proc-stats.ts";

const REPO = join(import.meta.dirname, "../..");
const DIST = join(REPO, "rtcd", "dist");
const ADMIN_KEY = "rest-memory-bench-admin-key-0123456789";

/** The image's `ENV MALLOC_...=...` settings, from rtcd/Dockerfile. */
function imageMallocEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const dockerfile = readFileSync(join(REPO, "rtcd", "Dockerfile"), "utf8");
  for (const m of dockerfile.matchAll(/^ENV (MALLOC_[A-Z_]+)=(\S+)$/gm)) env[m[1]!] = m[2]!;
  if (Object.keys(env).length === 0) throw new Error("rtcd/Dockerfile sets no MALLOC_ variable");
  return env;
}

const mib = (k: number) => +(k / 1024).toFixed(1);

interface Row {
  what: string;
  main: { rss: number; anon: number; file: number };
  workers: number[];
  afterAuth: number;
  registered: number;
}

async function registrations(url: string): Promise<number> {
  let ok = 0;
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        fetch(`${url}/register`, {
          method: "POST",
          headers: { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString("base64")}` },
          body: JSON.stringify({
            clientID: `bench-${round}-${i}`,
            authKey: `bench-key-${round}-${i}-0123456789abcdefghijklmnop`,
          }),
        }),
      ),
    );
    ok += answers.filter((r) => r.status === 201).length;
  }
  return ok;
}

async function measure(
  what: string,
  impl: Impl,
  o: { main?: string; env?: Record<string, string> } = {},
): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "rest-memory-"));
  const r = await startRtcd({
    impl,
    realBinary: impl === "rtcd" ? await buildRealRtcd() : "",
    dir,
    env: {
      RTCD_LOGGER_CONSOLELEVEL: "INFO",
      RTCD_API_SECURITY_ENABLEADMIN: "true",
      RTCD_API_SECURITY_ADMINSECRETKEY: ADMIN_KEY,
      ...o.env,
    },
    name: impl,
    ...(o.main ? { main: o.main } : {}),
  });
  try {
    // Ready (ours: its first CPU sample taken) and no call: at rest.
    const pid = r.proc.pid!;
    const main = {
      rss: mib(kib(pid, "VmRSS")),
      anon: mib(kib(pid, "RssAnon")),
      file: mib(kib(pid, "RssFile")),
    };
    const workers = children(pid).map((c) => mib(kib(c, "VmRSS")));
    const registered = await registrations(r.url);
    return { what, main, workers, afterAuth: mib(kib(pid, "VmRSS")), registered };
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
const malloc = imageMallocEnv();
const rows = [
  await measure("ours, from the .ts sources (tests)", "ours"),
  await measure("ours, built JavaScript, glibc's default malloc", "ours", { main: join(DIST, "main.js") }),
  await measure(
    `ours as the image runs it (built JavaScript, ${Object.entries(malloc)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")})`,
    "ours",
    { main: join(DIST, "main.js"), env: malloc },
  ),
  await measure("Mattermost's rtcd v1.2.6", "rtcd"),
];
process.stdout.write(
  [
    "| rtcd | at rest: main process RSS MiB (anon + file) | workers RSS MiB | at rest, total MiB | main process RSS MiB after 3 x 4 concurrent registrations (hashes done) |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((x) => {
      const total = x.main.rss + x.workers.reduce((a, b) => a + b, 0);
      return `| ${x.what} | ${x.main.rss} (${x.main.anon} + ${x.main.file}) | ${x.workers.join(", ") || "-"} | ${total.toFixed(1)} | ${x.afterAuth} (${x.registered}) |`;
    }),
    "",
    "rerun: npm run bench:rest-memory",
    "",
  ].join("\n"),
);
