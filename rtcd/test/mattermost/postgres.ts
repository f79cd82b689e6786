// A private PostgreSQL for one Mattermost: Debian's server binaries, its own
// data directory and loopback port, run as the postgres user (initdb and
// postgres refuse root).
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "@mattermost-rtcd/e2e/cluster";
import { startProc, stopProc, waitFor, tailOf, type Proc } from "./proc.ts";

export interface Postgres {
  port: number;
  dataSource: string;
  proc: Proc;
  stop(): Promise<void>;
}

function pgBin(name: string): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = join(root, v, "bin", name);
    if (existsSync(p)) return p;
  }
  throw new Error(`PostgreSQL's ${name} not found under ${root} (install postgresql-15)`);
}

function id(flag: "-u" | "-g"): number {
  return Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
}

/** `dir`'s parent must be traversable by the postgres user. */
export async function startPostgres(dir: string): Promise<Postgres> {
  const data = join(dir, "pgdata");
  mkdirSync(dir, { recursive: true });
  const ids = { uid: id("-u"), gid: id("-g") };
  chownSync(dir, ids.uid, ids.gid);
  execFileSync(pgBin("initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"], {
    stdio: "pipe",
    cwd: dir,
    ...ids,
  });
  const port = await freePort();
  const proc = startProc(
    "postgres",
    pgBin("postgres"),
    [
      "-D",
      data,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `unix_socket_directories=${dir}`,
      "-c",
      "fsync=off",
      "-c",
      "max_connections=200",
    ],
    { cwd: dir, env: { PATH: process.env["PATH"] ?? "" }, logFile: join(dir, "postgres.log"), ...ids },
  );
  const psql = (sql: string) =>
    execFileSync(
      pgBin("psql"),
      ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql],
      {
        stdio: "pipe",
      },
    );
  await waitFor(
    "PostgreSQL",
    () => {
      if (proc.proc.exitCode !== null) throw new Error(`postgres exited:\n${tailOf(proc.logFile)}`);
      try {
        psql("SELECT 1");
        return true;
      } catch {
        return undefined;
      }
    },
    30_000,
    () => tailOf(proc.logFile),
  );
  psql("CREATE USER mmuser WITH PASSWORD 'mmtest'");
  psql("CREATE DATABASE mattermost OWNER mmuser");
  return {
    port,
    dataSource: `postgres://mmuser:mmtest@127.0.0.1:${port}/mattermost?sslmode=disable&connect_timeout=10`,
    proc,
    stop: () => stopProc(proc),
  };
}
