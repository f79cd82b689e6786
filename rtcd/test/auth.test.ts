import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { AuthService, parseAuthorization } from "../src/api/auth.ts";
import { RateLimiter } from "../src/api/ratelimit.ts";
import { SessionCache } from "../src/api/session-cache.ts";
import { hashKey, verifyKey } from "../src/store/hash.ts";
import { openStore } from "../src/store/sqlite.ts";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "rtcd-auth-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const b64 = (s: string) => Buffer.from(s).toString("base64");
const KEY = "k".repeat(32);
const ADMIN = "an-admin-secret-of-32-bytes-or-more";

describe("parseAuthorization (Go's BasicAuth, rtcd's Bearer check)", () => {
  test.for([
    [`Basic ${b64("id:key")}`, { kind: "basic", user: "id", pass: "key" }],
    [`basic ${b64("id:key")}`, { kind: "basic", user: "id", pass: "key" }],
    [`BASIC ${b64(":secret")}`, { kind: "basic", user: "", pass: "secret" }],
    [`Basic ${b64("id:a:b")}`, { kind: "basic", user: "id", pass: "a:b" }],
    [`Basic ${b64("id:ké")}`, { kind: "basic", user: "id", pass: "ké" }],
    ["Bearer tok", { kind: "bearer", token: "tok" }],
    ["Bearer ", { kind: "bearer", token: "" }],
    // Bearer is only recognised with this exact case; anything else is Basic.
    ["bearer tok", { kind: "invalid" }],
    [`Basic ${b64("nocolon")}`, { kind: "invalid" }],
    ["Basic !!!!", { kind: "invalid" }],
    // Go's StdEncoding needs padding.
    [`Basic ${b64("id:k").replace(/=+$/, "")}`, { kind: "invalid" }],
    ["", { kind: "invalid" }],
    ["Digest x", { kind: "invalid" }],
  ] as const)("%s", ([header, want]) => {
    expect(parseAuthorization(header)).toEqual(want);
  });
  test("missing header", () => expect(parseAuthorization(undefined)).toEqual({ kind: "invalid" }));
});

describe("RateLimiter (x/time/rate, burst 1, Wait with a deadline)", () => {
  test("spaces callers 1/rate apart and refuses waits past the deadline", () => {
    let now = 0;
    const l = new RateLimiter(10, 1, () => now);
    expect(l.reserve(1000)).toBe(0);
    expect(l.reserve(1000)).toBeCloseTo(100);
    expect(l.reserve(1000)).toBeCloseTo(200);
    // A reservation that would wait too long takes nothing.
    expect(l.reserve(250)).toBeUndefined();
    expect(l.reserve(1000)).toBeCloseTo(300);
    now = 2000;
    expect(l.reserve(0)).toBe(0);
  });

  test("tokens do not pile up beyond the burst", () => {
    let now = 0;
    const l = new RateLimiter(10, 1, () => now);
    l.reserve(0);
    now = 60_000;
    expect(l.reserve(0)).toBe(0);
    expect(l.reserve(1000)).toBeCloseTo(100);
  });

  test("wait() delays", async () => {
    const l = new RateLimiter(50);
    const t0 = performance.now();
    await Promise.all([l.wait(1000), l.wait(1000), l.wait(1000)]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
  });
});

describe("SessionCache", () => {
  test("one token per client, expiry, delete", () => {
    let now = 0;
    const c = new SessionCache(1000, () => now);
    c.put("a", "t1");
    expect(c.get("t1")).toEqual({ clientID: "a" });
    c.put("a", "t2");
    expect(c.get("t1")).toEqual({ error: "token is invalid" });
    now = 1001;
    expect(c.get("t2")).toEqual({ error: "session is expired" });
    expect(c.size).toBe(0);
    c.put("b", "t3");
    c.delete("b");
    expect(c.get("t3")).toEqual({ error: "token is invalid" });
  });
});

describe("key hashes", () => {
  test("scrypt, salted, verifiable", async () => {
    const h1 = await hashKey(KEY);
    const h2 = await hashKey(KEY);
    expect(h1).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain(KEY);
    expect(await verifyKey(h1, KEY)).toBe(true);
    expect(await verifyKey(h1, KEY + "x")).toBe(false);
    expect(await verifyKey(h1, "")).toBe(false);
    expect(await verifyKey("garbage", KEY)).toBe(false);
    expect(await verifyKey("scrypt$999999999$8$1$AA==$AA==", KEY)).toBe(false);
  });
});

describe("AuthService (rtcd's rules and messages)", () => {
  const svc = (opts: Partial<{ admin: string }> = {}) => {
    const store = openStore(tempDir());
    return new AuthService(store, {
      enableAdmin: opts.admin !== undefined,
      adminSecret: opts.admin ?? "",
      sessionTTLMinutes: 1,
      cpuBudget: 1,
      ratePerSecond: 1000,
    });
  };

  test("register, duplicate, short key, long ID, login, unregister", async () => {
    const a = svc();
    await expect(a.register("c", "short")).rejects.toThrow("registration failed: key not long enough");
    await expect(a.register("", KEY)).rejects.toThrow("registration failed: error: empty key");
    await expect(a.register("x".repeat(65), KEY)).rejects.toThrow(
      "registration failed: failed to set key: error: key too large",
    );
    await expect(a.register("c", "k".repeat(73))).rejects.toThrow(
      "registration failed: key longer than 72 bytes",
    );
    await a.register("c", KEY);
    await expect(a.register("c", KEY)).rejects.toThrow("registration failed: already registered");
    await expect(a.login("c", KEY + "x")).rejects.toThrow(/^login failed: authentication failed$/);
    await expect(a.login("nobody", KEY)).rejects.toThrow(
      "login failed: authentication failed: error: not found",
    );
    const token = await a.login("c", KEY);
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await a.check(`Bearer ${token}`)).toEqual({ ok: true, clientID: "c", admin: false });
    expect(() => a.unregister("nobody")).toThrow("unregister failed: error: not found");
    a.unregister("c");
    expect(await a.check(`Bearer ${token}`)).toEqual({
      ok: false,
      code: 401,
      error: "authentication failed: token is invalid",
    });
  });

  test("check: admin, client, failures", async () => {
    const a = svc({ admin: ADMIN });
    await a.register("c", KEY);
    expect(await a.check(`Basic ${b64("anyone:" + ADMIN)}`)).toEqual({
      ok: true,
      clientID: "",
      admin: true,
    });
    expect(await a.check(`Basic ${b64("c:" + KEY)}`)).toEqual({ ok: true, clientID: "c", admin: false });
    expect(await a.check(`Basic ${b64(":wrong")}`)).toMatchObject({
      ok: false,
      error: "authentication failed: unauthorized",
    });
    expect(await a.check(`Basic ${b64("c:wrong")}`)).toMatchObject({
      ok: false,
      error: "authentication failed",
    });
    expect(await a.check(undefined)).toMatchObject({
      ok: false,
      error: "authentication failed: invalid auth header",
    });
    // Without enable_admin the secret means nothing.
    const b = svc();
    expect(await b.check(`Basic ${b64(":")}`)).toMatchObject({
      ok: false,
      error: "authentication failed: unauthorized",
    });
  });

  test("credentials survive reopening the store", async () => {
    const dir = tempDir();
    const s1 = openStore(dir);
    await new AuthService(s1, {
      enableAdmin: false,
      adminSecret: "",
      sessionTTLMinutes: 1,
      cpuBudget: 1,
    }).register("c", KEY);
    s1.close();
    const s2 = openStore(dir);
    await expect(
      new AuthService(s2, { enableAdmin: false, adminSecret: "", sessionTTLMinutes: 1, cpuBudget: 1 }).login(
        "c",
        KEY,
      ),
    ).resolves.toHaveLength(32);
    expect(s2.count()).toBe(1);
    s2.close();
  });
});

describe("auth under pressure", () => {
  const svc = (
    opts: { admin?: string; rate?: number; sourceRate?: number; sourceClock?: () => number } = {},
  ) => {
    const refused: string[] = [];
    const a = new AuthService(openStore(tempDir()), {
      enableAdmin: opts.admin !== undefined,
      adminSecret: opts.admin ?? "",
      sessionTTLMinutes: 1,
      cpuBudget: 1,
      ...(opts.rate ? { ratePerSecond: opts.rate } : {}),
      ...(opts.sourceRate ? { sourceRatePerSecond: opts.sourceRate } : {}),
      ...(opts.sourceClock ? { sourceClock: opts.sourceClock } : {}),
      onRefused: (why) => refused.push(why),
    });
    return { a, refused };
  };

  test("failed admin attempts are paced by the limiter like any Basic attempt", async () => {
    // 2 per second: the second attempt in a row waits about 500 ms.
    const { a } = svc({ admin: ADMIN, rate: 2 });
    const t0 = performance.now();
    expect(await a.check(`Basic ${b64(":wrong")}`, "10.0.0.1")).toMatchObject({ ok: false, code: 401 });
    expect(await a.check(`Basic ${b64(":wrong")}`, "10.0.0.1")).toMatchObject({ ok: false, code: 401 });
    expect(performance.now() - t0).toBeGreaterThan(400);
  });

  test("one source address past its burst is paced, not refused; another is not held back", async () => {
    // 5 per second for the source after a burst of 10: two more take 400 ms.
    const { a, refused } = svc({ rate: 1000, sourceRate: 5 });
    await a.register("c", KEY);
    const t0 = performance.now();
    for (let i = 0; i < 12; i++)
      expect(await a.check(`Basic ${b64("c:" + KEY)}`, "10.0.0.9")).toMatchObject({ ok: true });
    expect(performance.now() - t0).toBeGreaterThan(300);
    expect(refused).toEqual([]);
    expect(await a.check(`Basic ${b64("c:" + KEY)}`, "10.0.0.10")).toMatchObject({ ok: true });
  });

  test("one source has at most four key checks under way at once", async () => {
    const { a, refused } = svc({ rate: 100_000 });
    await a.register("c", KEY);
    const codes = (
      await Promise.all(Array.from({ length: 6 }, () => a.check(`Basic ${b64("c:" + KEY)}`, "10.5.0.1")))
    ).map((r) => (r.ok ? 200 : r.code));
    expect(codes.sort()).toEqual([200, 200, 200, 200, 429, 429]);
    expect(refused).toEqual(["source_rate", "source_rate"]);
  });

  test("a source's failed checks: five are free, then each waits 2 s; other addresses are not held back", async () => {
    // The buckets' clock stands still: no failure comes back while the
    // hashes run, however slowly this machine runs them (with the real
    // clock, six hashes taking 2 s on a loaded host refilled one and the
    // seventh attempt did not wait). The wait itself is a real timer.
    const { a } = svc({ rate: 100_000, sourceClock: () => 0 });
    await a.register("c", KEY);
    const wrong = async (src: string) => {
      const r = await a.check(`Basic ${b64("c:wrong-key")}`, src);
      return r.ok ? 200 : r.code;
    };
    // A client that mistyped its key a few times is not held back.
    for (let i = 0; i < 4; i++) expect(await wrong("10.6.0.1")).toBe(401);
    expect(await a.check(`Basic ${b64("c:" + KEY)}`, "10.6.0.1")).toMatchObject({ ok: true });
    // A guesser: after its fifth failure each attempt waits for one to come back.
    expect(await wrong("10.6.0.1")).toBe(401);
    const t0 = performance.now();
    expect(await wrong("10.6.0.1")).toBe(401);
    expect(performance.now() - t0).toBeGreaterThan(1500);
    // Another address is not held back meanwhile.
    const t1 = performance.now();
    expect(await a.check(`Basic ${b64("c:" + KEY)}`, "10.6.0.2")).toMatchObject({ ok: true });
    expect(performance.now() - t1).toBeLessThan(1500);
  });

  test("a flood from one address gets 429 at once beyond the attempts it may have waiting", async () => {
    const { a, refused } = svc({ rate: 100_000 });
    await a.register("c", KEY);
    for (let i = 0; i < 5; i++) await a.check(`Basic ${b64("c:wrong-key")}`, "10.7.0.1");
    const codes = (
      await Promise.all(Array.from({ length: 8 }, () => a.check(`Basic ${b64("c:wrong-key")}`, "10.7.0.1")))
    ).map((r) => (r.ok ? 200 : r.code));
    // Four wait their turn (one per 2 s, and the fourth's wait is within
    // 10 s), four are refused at once.
    expect(codes.filter((c) => c === 429)).toHaveLength(4);
    expect(refused.filter((r) => r === "source_rate")).toHaveLength(4);
  });

  test("the global rate follows the CPU budget, not the host's CPUs", () => {
    const half = new AuthService(openStore(tempDir()), {
      enableAdmin: false,
      adminSecret: "",
      sessionTTLMinutes: 1,
      cpuBudget: 0.5,
    });
    // 12 per second per CPU: 6 for half a CPU, so the second reservation
    // in a row waits 1/6 s.
    half.limiter.reserve(10_000);
    expect(half.limiter.reserve(10_000)).toBeCloseTo(1000 / 6, 0);
  });

  test("concurrent key checks beyond the bound fail fast with 503", async () => {
    const { a, refused } = svc({ rate: 100_000 });
    await a.register("c", KEY);
    const many = await Promise.all(
      Array.from({ length: 40 }, (_, i) => a.check(`Basic ${b64("c:wrong-key")}`, `10.1.0.${i}`)),
    );
    const codes = many.map((r) => (r.ok ? 200 : r.code));
    // 4 hashing and 16 queued at most; the rest are refused without hashing.
    expect(codes.filter((c) => c === 401)).toHaveLength(20);
    expect(codes.filter((c) => c === 503)).toHaveLength(20);
    expect(refused.filter((r) => r === "busy")).toHaveLength(20);
  });

  test("an unknown client ID costs a key check, like a known one", async () => {
    const { a } = svc({ rate: 100_000 });
    await a.register("known", KEY);
    await a.login("known", KEY).catch(() => undefined);
    const time = async (id: string) => {
      const t0 = process.cpuUsage();
      const w0 = performance.now();
      for (let i = 0; i < 5; i++)
        await a.login(id, "wrong-key-wrong-key", `10.2.${id.length}.${i}`).catch(() => undefined);
      return { wall: performance.now() - w0, cpu: process.cpuUsage(t0) };
    };
    const known = await time("known");
    const unknown = await time("unknown");
    // The CPU the process spent (process.cpuUsage counts every thread, so
    // the scrypt on libuv's threads too): what a key check costs, whatever
    // else the machine runs. The wall time, which a caller sees, also
    // carries the machine's load: in a CI run beside the cluster lane five
    // checks took 183 ms for the known ID and 418 ms for the unknown one.
    const cpu = (c: NodeJS.CpuUsage) => c.user + c.system;
    const detail = `known ${JSON.stringify(known)}, unknown ${JSON.stringify(unknown)}`;
    expect(cpu(unknown.cpu), detail).toBeGreaterThan(cpu(known.cpu) * 0.5);
    expect(cpu(unknown.cpu), detail).toBeLessThan(cpu(known.cpu) * 2);
    // And the answers are rtcd's.
    await expect(a.login("unknown", "x", "10.3.0.1")).rejects.toThrow(
      "login failed: authentication failed: error: not found",
    );
  });

  test("IDs and keys no registration can have are refused without hashing", async () => {
    const { a } = svc({ rate: 100_000 });
    const t0 = performance.now();
    for (let i = 0; i < 20; i++)
      await expect(a.login("x".repeat(65), KEY, `10.4.0.${i}`)).rejects.toThrow("error: not found");
    expect(performance.now() - t0).toBeLessThan(500);
    await expect(a.register("x".repeat(65), KEY)).rejects.toThrow("key too large");
  });
});

describe("source keys", () => {
  test("IPv4 as is, IPv6 by /64", async () => {
    const { sourceKey } = await import("../src/api/auth-guard.ts");
    expect(sourceKey("127.0.0.2")).toBe("127.0.0.2");
    expect(sourceKey("::ffff:127.0.0.2")).toBe("127.0.0.2");
    expect(sourceKey("2001:db8:1:2:3:4:5:6")).toBe(sourceKey("2001:db8:1:2::9"));
    expect(sourceKey("2001:db8:1:2::9")).not.toBe(sourceKey("2001:db8:1:3::9"));
  });
});
