// Configuration the way rtcd builds it: defaults, then the TOML file (a
// missing file means defaults), then RTCD_* environment variables on top.
// Every problem is collected so one start reports all of them.
import { readFileSync } from "node:fs";
import { parse, TomlError } from "smol-toml";
import { KEYS, keyName, type KeyDef } from "./schema.ts";
import { ConfigError, ConfigFileError, issue, type ConfigIssue } from "./errors.ts";
import { parseGoBool, parseGoInt } from "./parse.ts";
import type { Config, ICEServerConfig, Source } from "./types.ts";
import { validateCrossKeys } from "./validate.ts";

export interface Loaded {
  config: Config;
  sources: Map<string, Source>;
  // Keys in the file that rtcd does not know (it ignores them silently; we
  // report them so a typo does not go unnoticed).
  unknownKeys: string[];
  fileMissing: boolean;
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Loaded {
  const { table, missing } = readToml(path);
  const config = {} as Record<string, unknown>;
  const sources = new Map<string, Source>();
  // What the operator wrote (the env string, the TOML value), for messages.
  const raws = new Map<string, unknown>();
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();

  for (const def of KEYS) {
    let value = def.default();
    let source: Source = { kind: "default" };
    const found = lookupToml(table, def.path);
    if (found) {
      seen.add(found.path);
      const r = fromToml(def, found.value);
      raws.set(keyName(def), found.value);
      if (r.ok) [value, source] = [r.value, { kind: "file", path }];
      else issues.push(issue(def, { kind: "file", path }, found.value, r.allowed));
    }
    const raw = env[def.env];
    if (raw !== undefined) {
      const r = fromEnv(def, raw);
      raws.set(keyName(def), raw);
      if (r.ok) [value, source] = [r.value, { kind: "env" }];
      else issues.push(issue(def, { kind: "env" }, raw, r.allowed));
    }
    if (def.check && !issues.some((i) => i.key === keyName(def))) {
      const allowed = def.check(value as never);
      if (allowed)
        issues.push(issue(def, source, raws.has(keyName(def)) ? raws.get(keyName(def)) : value, allowed));
    }
    setPath(config, def.path, value);
    sources.set(keyName(def), source);
  }

  const cfg = config as unknown as Config;
  if (issues.length === 0) issues.push(...validateCrossKeys(cfg, sources, raws));
  if (issues.length > 0) throw new ConfigError(issues);
  return { config: cfg, sources, unknownKeys: unknownKeys(table, seen), fileMissing: missing };
}

type TomlTable = Record<string, unknown>;

function readToml(path: string): { table: TomlTable; missing: boolean } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { table: {}, missing: true };
    throw new ConfigFileError(path, (err as Error).message);
  }
  try {
    // Integers as bigint so `8443.0` (a float, which rtcd rejects for an
    // integer key) stays distinguishable from `8443`.
    return { table: parse(text, { integersAsBigInt: true, unsafeKeyBehaviour: "throw" }), missing: false };
  } catch (err) {
    if (err instanceof TomlError) throw new ConfigFileError(path, err.message);
    throw err;
  }
}

// BurntSushi/toml matches keys to fields case-insensitively; so do we.
function lookupToml(table: TomlTable, path: readonly string[]): { value: unknown; path: string } | undefined {
  let cur: unknown = table;
  const actual: string[] = [];
  for (const part of path) {
    if (!isTable(cur)) return undefined;
    const k = Object.keys(cur).find((x) => x === part) ?? Object.keys(cur).find((x) => eqFold(x, part));
    if (k === undefined) return undefined;
    actual.push(k);
    cur = cur[k];
  }
  return { value: cur, path: actual.join(".") };
}

function unknownKeys(table: TomlTable, seen: Set<string>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(table)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (seen.has(p)) continue;
    if (isTable(v)) out.push(...unknownKeys(v, seen, p));
    else out.push(p);
  }
  return out;
}

type Conv = { ok: true; value: unknown } | { ok: false; allowed: string };
const ok = (value: unknown): Conv => ({ ok: true, value });
const bad = (allowed: string): Conv => ({ ok: false, allowed });

const INT64_MAX = (1n << 63n) - 1n;
const INT_ALLOWED = "an integer";

function intFrom(n: bigint | undefined, kind: "int" | "uint16"): Conv {
  if (n === undefined) return bad(kind === "int" ? INT_ALLOWED : "an integer from 0 to 65535");
  if (kind === "uint16") return n >= 0n && n <= 65535n ? ok(Number(n)) : bad("an integer from 0 to 65535");
  if (n > INT64_MAX || n < -INT64_MAX - 1n) return bad("an integer that fits in 64 bits");
  // Beyond 2^53 no check can pass anyway; keep the number exact enough to say so.
  return Number.isSafeInteger(Number(n)) ? ok(Number(n)) : bad("an integer within ±9007199254740991");
}

function fromToml(def: KeyDef, v: unknown): Conv {
  switch (def.kind) {
    case "string":
      return typeof v === "string" ? ok(v) : bad("a string");
    case "bool":
      return typeof v === "boolean" ? ok(v) : bad("true or false");
    case "int":
    case "uint16":
      return typeof v === "bigint" ? intFrom(v, def.kind) : bad(`an integer (got ${tomlType(v)})`);
    case "portOverride":
      if (typeof v === "string") return ok(v);
      return typeof v === "bigint" ? ok(v.toString()) : bad("a string or an integer");
    case "iceServers":
      return iceServersFromToml(v);
  }
}

function fromEnv(def: KeyDef, raw: string): Conv {
  switch (def.kind) {
    case "string":
    case "portOverride":
      return ok(raw);
    case "bool": {
      const b = parseGoBool(raw);
      return b === undefined ? bad("one of 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False") : ok(b);
    }
    case "int":
      return intFrom(parseGoInt(raw, true), "int");
    case "uint16":
      return intFrom(parseGoInt(raw, false), "uint16");
    case "iceServers":
      return iceServersFromJSON(raw);
  }
}

const ICE_TOML_ALLOWED =
  'an array of URL strings and/or tables like {urls = ["stun:host:port"], username = "u", credential = "c"}';

// ICEServers.UnmarshalTOML: each entry a URL string or a table.
function iceServersFromToml(v: unknown): Conv {
  if (!Array.isArray(v)) return bad(ICE_TOML_ALLOWED);
  const out: ICEServerConfig[] = [];
  for (const entry of v) {
    if (typeof entry === "string") out.push({ urls: [entry] });
    else if (isTable(entry)) {
      const urls = entry["urls"];
      if (urls !== undefined && !Array.isArray(urls)) return bad(ICE_TOML_ALLOWED);
      const s: ICEServerConfig = { urls: (urls ?? []).map((u: unknown) => (typeof u === "string" ? u : "")) };
      if (typeof entry["username"] === "string") s.username = entry["username"];
      if (typeof entry["credential"] === "string") s.credential = entry["credential"];
      out.push(s);
    } else return bad(ICE_TOML_ALLOWED);
  }
  return ok(out);
}

const ICE_JSON_ALLOWED =
  'JSON: a list of URLs like ["stun:host:3478"], or a list of servers like [{"urls":["turn:host:3478"],"username":"u","credential":"c"}]';

// ICEServers.Decode: a JSON array of URLs (one server), else a JSON array of
// server objects (field names case-insensitive, as encoding/json does).
function iceServersFromJSON(raw: string): Conv {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return bad(ICE_JSON_ALLOWED);
  }
  if (v === null) return ok([]);
  if (!Array.isArray(v)) return bad(ICE_JSON_ALLOWED);
  if (v.every((u) => typeof u === "string")) return ok(v.length ? [{ urls: v as string[] }] : []);
  const out: ICEServerConfig[] = [];
  for (const entry of v) {
    if (entry === null) {
      out.push({ urls: [] });
      continue;
    }
    if (!isTable(entry)) return bad(ICE_JSON_ALLOWED);
    const field = (name: string) => entry[Object.keys(entry).find((k) => eqFold(k, name)) ?? ""];
    const urls = field("urls");
    if (
      urls !== undefined &&
      urls !== null &&
      !(Array.isArray(urls) && urls.every((u) => typeof u === "string"))
    )
      return bad(ICE_JSON_ALLOWED);
    const s: ICEServerConfig = { urls: (urls as string[] | null | undefined) ?? [] };
    for (const f of ["username", "credential"] as const) {
      const x = field(f);
      if (x !== undefined && x !== null && typeof x !== "string") return bad(ICE_JSON_ALLOWED);
      if (typeof x === "string" && x !== "") s[f] = x;
    }
    out.push(s);
  }
  return ok(out);
}

function tomlType(v: unknown): string {
  if (typeof v === "number") return "a float";
  if (Array.isArray(v)) return "an array";
  if (isTable(v)) return "a table";
  return `a ${typeof v}`;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function eqFold(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
  cur[path[path.length - 1]!] = value;
}
