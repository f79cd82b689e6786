// Checks that involve more than one key (rtcd's Config.IsValid), each blamed
// on the key the operator has to change.
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { KEYS, LOG_LEVELS, keyName } from "./schema.ts";
import { issue, type ConfigIssue } from "./errors.ts";
import type { Config, Source } from "./types.ts";

export const MIN_ADMIN_SECRET_BYTES = 32;
const MAX_TURN_EXPIRATION_MINUTES = 7 * 24 * 60;
const LEVELS_ALLOWED = `one of ${LOG_LEVELS.join(", ")} (any case)`;

export function validateCrossKeys(
  c: Config,
  sources: Map<string, Source>,
  raws: Map<string, unknown> = new Map(),
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const blame = (name: string, value: unknown, allowed: string) => {
    const def = KEYS.find((d) => keyName(d) === name)!;
    out.push(
      issue(def, sources.get(name) ?? { kind: "default" }, raws.has(name) ? raws.get(name) : value, allowed),
    );
  };

  const sec = c.api.security;
  // rtcd takes any non-empty secret; a short one falls to guessing even at
  // the auth rate limit, and it unlocks every registration.
  if (sec.enable_admin && Buffer.byteLength(sec.admin_secret_key) < MIN_ADMIN_SECRET_BYTES)
    blame(
      "api.security.admin_secret_key",
      sec.admin_secret_key,
      `a secret of at least ${MIN_ADMIN_SECRET_BYTES} bytes when api.security.enable_admin is true (e.g. \`openssl rand -base64 32\`)`,
    );

  const tls = c.api.http.tls;
  if (tls.enable) {
    if (tls.cert_file === "")
      blame("api.http.tls.cert_file", "", "a PEM certificate file path when api.http.tls.enable is true");
    if (tls.cert_key === "")
      blame("api.http.tls.cert_key", "", "a PEM private key file path when api.http.tls.enable is true");
    if (tls.cert_file !== "" && tls.cert_key !== "") {
      const err = tryLoadKeyPair(tls.cert_file, tls.cert_key);
      if (err)
        blame(
          "api.http.tls.cert_file",
          tls.cert_file,
          `a certificate that loads with api.http.tls.cert_key (${err})`,
        );
    }
  }

  const turn = c.rtc.turn;
  if (turn.static_auth_secret !== "") {
    const m = turn.credentials_expiration_minutes;
    if (m <= 0 || m >= MAX_TURN_EXPIRATION_MINUTES)
      blame(
        "rtc.turn.credentials_expiration_minutes",
        m,
        `an integer from 1 to ${MAX_TURN_EXPIRATION_MINUTES - 1} (less than a week) when rtc.turn.static_auth_secret is set`,
      );
  }

  const log = c.logger;
  if (!log.enable_console && !log.enable_file)
    blame("logger.enable_console", false, "true, or logger.enable_file true: at least one log target");
  if (log.enable_console && !isLevel(log.console_level))
    blame("logger.console_level", log.console_level, LEVELS_ALLOWED);
  if (log.enable_file && !isLevel(log.file_level)) blame("logger.file_level", log.file_level, LEVELS_ALLOWED);
  if (log.enable_file && log.file_location === "")
    blame("logger.file_location", "", "a non-empty file path when logger.enable_file is true");

  return out;
}

function isLevel(v: string): boolean {
  return (LOG_LEVELS as readonly string[]).includes(v.toLowerCase());
}

function tryLoadKeyPair(certFile: string, keyFile: string): string | undefined {
  try {
    createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
