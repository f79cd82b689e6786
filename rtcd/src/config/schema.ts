// Every configuration key: its TOML path, its environment variable (named
// the way rtcd's envconfig derives it: RTCD_ + upper-cased Go field names),
// its type, default and what values are allowed. The single source of truth
// for loading, validation, the sample file and the tests.
import { availableParallelism } from "node:os";
import { isIP } from "node:net";
import type { ICEServerConfig } from "./types.ts";
import { parseGoAtoi } from "./parse.ts";

export type Kind = "string" | "bool" | "int" | "uint16" | "iceServers" | "portOverride";

export interface KeyDef {
  path: readonly string[];
  env: string;
  kind: Kind;
  default: () => unknown;
  // Printed as <redacted> in errors and logs.
  secret?: boolean;
  // Returns what is allowed when the value is not, undefined when it is.
  check?: (value: never) => string | undefined;
}

const PORT_ALLOWED = "an integer from 80 to 49151";
const portCheck = (n: number) => (n >= 80 && n <= 49151 ? undefined : PORT_ALLOWED);

export const LOG_LEVELS = ["panic", "fatal", "error", "warn", "info", "debug", "trace", "stdlog"] as const;

function key<T>(
  path: string,
  env: string,
  kind: Kind,
  def: T | (() => T),
  extra: { secret?: boolean; check?: (value: T) => string | undefined } = {},
): KeyDef {
  return {
    path: path.split("."),
    env,
    kind,
    default: typeof def === "function" ? (def as () => T) : () => structuredClone(def),
    ...(extra as { secret?: boolean; check?: (value: never) => string | undefined }),
  };
}

export const KEYS: readonly KeyDef[] = [
  key("api.http.listen_address", "RTCD_API_HTTP_LISTENADDRESS", "string", ":8045", {
    check: (v: string) =>
      parseListenAddress(v) ? undefined : 'a "host:port" or ":port" address with a port from 0 to 65535',
  }),
  key("api.http.tls.enable", "RTCD_API_HTTP_TLS_ENABLE", "bool", false),
  key("api.http.tls.cert_file", "RTCD_API_HTTP_TLS_CERTFILE", "string", ""),
  key("api.http.tls.cert_key", "RTCD_API_HTTP_TLS_CERTKEY", "string", ""),
  key("api.security.enable_admin", "RTCD_API_SECURITY_ENABLEADMIN", "bool", false),
  key("api.security.admin_secret_key", "RTCD_API_SECURITY_ADMINSECRETKEY", "string", "", { secret: true }),
  key("api.security.allow_self_registration", "RTCD_API_SECURITY_ALLOWSELFREGISTRATION", "bool", false),
  key(
    "api.security.session_cache.expiration_minutes",
    "RTCD_API_SECURITY_SESSIONCACHE_EXPIRATIONMINUTES",
    "int",
    1440,
    { check: (n: number) => (n > 0 ? undefined : "a positive number of minutes") },
  ),
  key("rtc.ice_address_udp", "RTCD_RTC_ICEADDRESSUDP", "string", "", { check: ipListCheck }),
  key("rtc.ice_port_udp", "RTCD_RTC_ICEPORTUDP", "int", 8443, { check: portCheck }),
  key("rtc.ice_address_tcp", "RTCD_RTC_ICEADDRESSTCP", "string", "", { check: ipListCheck }),
  key("rtc.ice_port_tcp", "RTCD_RTC_ICEPORTTCP", "int", 8443, { check: portCheck }),
  key("rtc.ice_host_override", "RTCD_RTC_ICEHOSTOVERRIDE", "string", "", { check: hostOverrideCheck }),
  key("rtc.ice_host_port_override", "RTCD_RTC_ICEHOSTPORTOVERRIDE", "portOverride", "", {
    check: portOverrideCheck,
  }),
  key("rtc.ice_servers", "RTCD_RTC_ICESERVERS", "iceServers", [] as ICEServerConfig[], {
    check: iceServersCheck,
  }),
  key("rtc.turn.static_auth_secret", "RTCD_RTC_TURNCONFIG_STATICAUTHSECRET", "string", "", { secret: true }),
  // Range depends on static_auth_secret: checked in validate.ts.
  key(
    "rtc.turn.credentials_expiration_minutes",
    "RTCD_RTC_TURNCONFIG_CREDENTIALSEXPIRATIONMINUTES",
    "int",
    1440,
  ),
  key("rtc.enable_ipv6", "RTCD_RTC_ENABLEIPV6", "bool", false),
  // rtcd: runtime.NumCPU() * 100.
  key("rtc.udp_sockets_count", "RTCD_RTC_UDPSOCKETSCOUNT", "int", () => availableParallelism() * 100, {
    check: (n: number) => (n > 0 ? undefined : "an integer greater than 0"),
  }),
  key("rtc.nack_buffer_size", "RTCD_RTC_NACKBUFFERSIZE", "uint16", 256, {
    check: (n: number) =>
      n === 0 || (n >= 32 && n <= 8192 && (n & (n - 1)) === 0)
        ? undefined
        : "0 (off) or a power of 2 from 32 to 8192 (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)",
  }),
  key("rtc.nack_disable_copy", "RTCD_RTC_NACKDISABLECOPY", "bool", true),
  key("store.data_source", "RTCD_STORE_DATASOURCE", "string", "/tmp/rtcd_db", {
    check: (v: string) => (v !== "" ? undefined : "a non-empty directory path"),
  }),
  key("logger.enable_console", "RTCD_LOGGER_ENABLECONSOLE", "bool", true),
  key("logger.console_json", "RTCD_LOGGER_CONSOLEJSON", "bool", false),
  // Levels and file_location are only checked for enabled targets (validate.ts).
  key("logger.console_level", "RTCD_LOGGER_CONSOLELEVEL", "string", "INFO"),
  key("logger.enable_file", "RTCD_LOGGER_ENABLEFILE", "bool", true),
  key("logger.file_json", "RTCD_LOGGER_FILEJSON", "bool", true),
  key("logger.file_level", "RTCD_LOGGER_FILELEVEL", "string", "DEBUG"),
  key("logger.file_location", "RTCD_LOGGER_FILELOCATION", "string", "rtcd.log"),
  key("logger.enable_color", "RTCD_LOGGER_ENABLECOLOR", "bool", false),
  // Just under the official chart's 18000 s termination grace period, so
  // the calls still running get a clean `close` before the kubelet kills us.
  key("drain.deadline_seconds", "RTCD_DRAIN_DEADLINESECONDS", "int", 17990, {
    // setTimeout's ceiling (2^31-1 ms, about 24.8 days).
    check: (n: number) =>
      n >= 0 && n <= 2_147_483 ? undefined : "a whole number of seconds from 0 to 2147483",
  }),
  // Not in rtcd: mediasoup workers (processes forwarding media). Worker i
  // serves the RTC ports + i, so 1 keeps rtcd's single port; 0 = one per CPU.
  key("media.workers", "RTCD_MEDIA_WORKERS", "int", 1, {
    check: (n: number) => (n >= 0 && n <= 256 ? undefined : "an integer from 0 (one per CPU) to 256"),
  }),
  // Not in rtcd: a call's new sessions join its worker until that worker
  // holds this many consumers (mediasoup's guidance: about 500 per worker),
  // then the least loaded worker, the call's tracks piped between them.
  key("media.consumers_per_worker", "RTCD_MEDIA_CONSUMERSPERWORKER", "int", 500, { check: positive }),
  // Not in rtcd: quotas (docs/security.md). Each default is far above what
  // one Mattermost installation uses, so only a misbehaving or hostile
  // client meets them.
  key("limits.sessions_per_client", "RTCD_LIMITS_SESSIONSPERCLIENT", "int", 10_000, { check: positive }),
  key("limits.sessions_per_call", "RTCD_LIMITS_SESSIONSPERCALL", "int", 1_000, { check: positive }),
  key("limits.ws_connections_per_client", "RTCD_LIMITS_WSCONNECTIONSPERCLIENT", "int", 64, {
    check: positive,
  }),
  key("limits.registrations", "RTCD_LIMITS_REGISTRATIONS", "int", 10_000, { check: positive }),
  // Tracks one session may send at once. A Calls client sends at most four
  // (voice, video, screen and its audio); each is forwarded to every other
  // session of the call, so the cap bounds what one client makes a call cost.
  key("limits.producers_per_session", "RTCD_LIMITS_PRODUCERSPERSESSION", "int", 8, { check: positive }),
  // The HTTP server's maxConnections (WebSockets included): each idle
  // connection costs a file descriptor and some 10-50 KB.
  key("limits.http_connections", "RTCD_LIMITS_HTTPCONNECTIONS", "int", 10_000, { check: positive }),
];

function positive(n: number): string | undefined {
  return n > 0 && n <= 1_000_000 ? undefined : "an integer from 1 to 1000000";
}

export function keyName(def: KeyDef): string {
  return def.path.join(".");
}

// "host:port", ":port", "[v6]:port". Returns undefined when malformed.
export function parseListenAddress(v: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]+)$/.exec(v);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port > 65535 || m[3]!.length > 5) return undefined;
  return { host: m[1] ?? m[2] ?? "", port };
}

function ipListCheck(v: string): string | undefined {
  if (v === "") return undefined;
  const bad = v.split(",").some((a) => isIP(a.trim()) === 0);
  return bad ? "empty, or a comma-separated list of IP addresses" : undefined;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

// rtcd only finds a bad override when the first session starts; we refuse it
// at start instead.
function hostOverrideCheck(v: string): string | undefined {
  const allowed = 'empty, an IP address, a hostname, or a list of "externalIP/internalIP" pairs';
  if (v === "") return undefined;
  if (v.includes("/")) {
    const ok = v.split(",").every((pair) => {
      const parts = pair.split("/");
      return parts.length === 2 && parts.every((p) => isIP(p) !== 0);
    });
    return ok ? undefined : allowed;
  }
  return isIP(v) !== 0 || HOSTNAME.test(v) ? undefined : allowed;
}

// Mirrors ICEHostPortOverride.IsValid: a single port, or "localIP/port,..."
// with no address or port repeated.
function portOverrideCheck(v: string): string | undefined {
  const allowed = 'empty, a port from 80 to 49151, or a list of "localIP/port" pairs without repeats';
  if (v === "") return undefined;
  const single = parseGoAtoi(v);
  if (single !== undefined && single !== 0) return portCheck(single) ? allowed : undefined;
  const ips = new Set<string>();
  const ports = new Set<number>();
  for (const pair of v.split(",")) {
    const parts = pair.split("/");
    if (parts.length !== 2) return allowed;
    const port = parseGoAtoi(parts[1]!);
    if (port === undefined || ips.has(parts[0]!) || ports.has(port)) return allowed;
    ips.add(parts[0]!);
    ports.add(port);
  }
  return undefined;
}

// Mirrors ICEServerConfig.IsValid: every server has URLs, all STUN or all TURN.
function iceServersCheck(servers: ICEServerConfig[]): string | undefined {
  const allowed =
    'a list of servers, each with non-empty "urls" that are all stun:/stuns: or all turn:/turns: URLs';
  for (const s of servers) {
    if (s.urls.length === 0 || s.urls.some((u) => u === "")) return allowed;
    const all = (prefixes: string[]) => s.urls.every((u) => prefixes.some((p) => u.startsWith(p)));
    if (!all(["stun:", "stuns:"]) && !all(["turn:", "turns:"])) return allowed;
  }
  return undefined;
}
