// The rtcd compatibility contract: the same Go suite, built on the client
// library the Calls plugin uses, runs against the real rtcd v1.2.6 and
// against ours. Both must pass every case, except the ones marked "ours
// only" (health, draining, stricter framing...), which the real rtcd skips
// with the reason shown.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildContractRunner, buildRealRtcd } from "./support/go-build.ts";
import { runContract, type CaseResult } from "./support/contract-runner.ts";
import { startRtcd, stopRtcd, tail, type Impl, type Running } from "./support/procs.ts";
import { within } from "./support/wait.ts";

const ADMIN_SECRET = "contract-admin-secret-0123456789";
const PERSIST_ID = "contractpersistclient";
const PERSIST_KEY = "contract-persist-key-0123456789abcdefghij";

// What rtcd v1.2.6 does not do; the runner skips them for it.
const OURS_ONLY = new Set(["healthz", "readyz", "drain", "ws-malformed", "reconnect-close-routing"]);

const ADMIN_CASES = [
  "version",
  "system",
  "wrong-method",
  "register-admin",
  "register-auth-required",
  "login",
  "bad-credentials",
  "unregister",
  "ws-hello",
  "join-sessions",
  "join-existing-session",
  "leave",
  "reconnect",
  "reconnect-close-routing",
  "ws-frame-limit",
  "ws-malformed",
  "ws-heartbeat",
  "metrics-names",
  "rate-limit",
  "healthz",
  "readyz",
];
const SELF_CASES = ["register-self", "persist-setup"];
const CLOSED_CASES = ["register-closed", "unregister-disabled"];
const ALL_CASES = [...ADMIN_CASES, "drain", ...SELF_CASES, "persist-check", ...CLOSED_CASES];

interface Outcome {
  results: Map<string, CaseResult>;
  drainExit?: number | null;
  plaintextKeyFiles: string[];
  logs: string[];
}

const outcomes = new Map<Impl, Outcome>();
const tmp = mkdtempSync(join(tmpdir(), "rtcd-contract-"));

async function runImpl(impl: Impl, realBinary: string, runner: string): Promise<Outcome> {
  const o: Outcome = { results: new Map(), plaintextKeyFiles: [], logs: [] };
  const record = (rs: CaseResult[]) => rs.forEach((r) => o.results.set(r.name, r));
  const dir = (name: string) => join(tmp, impl, name);
  const start = async (name: string, env: Record<string, string>, dataDir = dir(name)) => {
    const r = await startRtcd({ impl, realBinary, dir: dataDir, env, name });
    o.logs.push(r.logFile);
    return r;
  };
  const guarded = async (r: Running, f: () => Promise<void>) => {
    try {
      await f();
    } finally {
      await stopRtcd(r);
    }
  };

  // Admin client on, self-registration off: most of the protocol.
  const adminEnv = { RTCD_API_SECURITY_ENABLEADMIN: "true", RTCD_API_SECURITY_ADMINSECRETKEY: ADMIN_SECRET };
  const admin = await start("admin", adminEnv);
  await guarded(admin, async () => {
    record(
      await runContract({ runner, url: admin.url, impl, cases: ADMIN_CASES, adminSecret: ADMIN_SECRET }),
    );
  });

  // Draining ends the process, so it gets a process of its own.
  const drain = await start("drain", adminEnv);
  await guarded(drain, async () => {
    const pid = drain.proc.pid!;
    record(
      await runContract({ runner, url: drain.url, impl, cases: ["drain"], adminSecret: ADMIN_SECRET, pid }),
    );
    if (impl === "ours") o.drainExit = await within(drain.exited, 10_000, undefined);
  });

  // Self-registration on, admin off; then a restart on the same data.
  const selfEnv = { RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true" };
  const persist = { clientID: PERSIST_ID, authKey: PERSIST_KEY };
  const self = await start("self", selfEnv);
  await guarded(self, async () => {
    record(await runContract({ runner, url: self.url, impl, cases: SELF_CASES, ...persist }));
  });
  o.plaintextKeyFiles = filesContaining(join(dir("self"), "db"), PERSIST_KEY);
  const again = await start("self-restarted", selfEnv, dir("self"));
  await guarded(again, async () => {
    record(await runContract({ runner, url: again.url, impl, cases: ["persist-check"], ...persist }));
  });

  // Neither admin nor self-registration.
  const closed = await start("closed", {});
  await guarded(closed, async () => {
    record(await runContract({ runner, url: closed.url, impl, cases: CLOSED_CASES }));
  });
  return o;
}

function filesContaining(dir: string, needle: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && readFileSync(join(e.parentPath, e.name)).includes(needle))
    .map((e) => e.name);
}

beforeAll(async () => {
  const realBinary = await buildRealRtcd();
  const runner = await buildContractRunner();
  // Both at once: the slow cases (heartbeat, rate limit) mostly wait.
  const [real, ours] = await Promise.all([
    runImpl("rtcd", realBinary, runner),
    runImpl("ours", realBinary, runner),
  ]);
  outcomes.set("rtcd", real);
  outcomes.set("ours", ours);
}, 600_000);

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe.each(["rtcd", "ours"] as const)("contract against %s", (impl) => {
  test.for(ALL_CASES)("%s", (name, ctx) => {
    const o = outcomes.get(impl)!;
    const r = o.results.get(name);
    expect(r, `no result for ${name}`).toBeDefined();
    if (r!.skipped) {
      // Only the real rtcd may skip, and only what is marked ours-only.
      expect(impl === "rtcd" && OURS_ONLY.has(name), `${impl} skipped ${name}: ${r!.detail}`).toBe(true);
      ctx.skip(r!.detail);
    }
    expect(r!.ok, `${name}: ${r!.detail}\n--- logs ---\n${o.logs.map((l) => tail(l, 15)).join("\n")}`).toBe(
      true,
    );
  });

  test("stores auth keys only as hashes", () => {
    expect(outcomes.get(impl)!.plaintextKeyFiles).toEqual([]);
  });
});

test("ours exits 0 once the last session has ended after SIGTERM", () => {
  expect(outcomes.get("ours")!.drainExit).toBe(0);
});
