// A configuration problem names the key (TOML path and environment
// variable), where the value came from, the value and what is allowed, so the
// operator can fix it without reading our source.
import type { KeyDef } from "./schema.ts";
import { keyName } from "./schema.ts";
import type { Source } from "./types.ts";

export interface ConfigIssue {
  key: string;
  env: string;
  source: Source;
  value: string;
  allowed: string;
}

export function issue(def: KeyDef, source: Source, raw: unknown, allowed: string): ConfigIssue {
  return { key: keyName(def), env: def.env, source, value: display(def, raw), allowed };
}

export function display(def: KeyDef, raw: unknown): string {
  if (def.secret && raw !== "" && raw !== undefined) return "<redacted>";
  return JSON.stringify(raw, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v)) ?? String(raw);
}

export function formatIssue(i: ConfigIssue): string {
  const where =
    i.source.kind === "env"
      ? `${i.env}=${i.value} (environment; TOML key ${i.key})`
      : i.source.kind === "file"
        ? `${i.key} = ${i.value} in ${i.source.path} (environment variable ${i.env})`
        : `${i.key} = ${i.value} (default; environment variable ${i.env})`;
  return `invalid value for ${where}: allowed: ${i.allowed}`;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], header = "invalid configuration") {
    super(`${header}:\n${issues.map((i) => "  " + formatIssue(i)).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

// The file itself is unreadable or not TOML: no key to blame.
export class ConfigFileError extends Error {
  constructor(path: string, detail: string) {
    super(`failed to read config file ${path}: ${detail}`);
    this.name = "ConfigFileError";
  }
}
