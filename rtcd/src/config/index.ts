export { loadConfig, type Loaded } from "./load.ts";
export { ConfigError, ConfigFileError, formatIssue, type ConfigIssue } from "./errors.ts";
export { KEYS, keyName, parseListenAddress, LOG_LEVELS, type KeyDef } from "./schema.ts";
export type { Config, ICEServerConfig, Source } from "./types.ts";

import { KEYS } from "./schema.ts";
import type { Config } from "./types.ts";

// The effective configuration for the start-up log, secrets hidden.
export function redacted(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const def of KEYS) {
    let v: unknown = config;
    for (const p of def.path) v = (v as Record<string, unknown>)[p];
    if (def.secret && v !== "") v = "<redacted>";
    if (def.path.join(".") === "rtc.ice_servers")
      v = (v as { urls: string[]; credential?: string }[]).map((s) =>
        s.credential ? { ...s, credential: "<redacted>" } : s,
      );
    out[def.path.join(".")] = v;
  }
  return out;
}
