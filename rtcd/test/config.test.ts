import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ConfigError, ConfigFileError, KEYS, keyName, loadConfig, redacted } from "../src/config/index.ts";
import { parseGoBool, parseGoInt } from "../src/config/parse.ts";

const dir = mkdtempSync(join(tmpdir(), "rtcd-config-"));
const missing = join(dir, "missing.toml");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function toml(text: string): string {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(p, text);
  return p;
}

function get(cfg: unknown, key: string): unknown {
  return key.split(".").reduce((o, k) => (o as Record<string, unknown>)[k], cfg);
}

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("no ConfigError");
}

// Written out from rtcd v1.2.6 (service/config.go SetDefaults, config
// structs and envconfig naming), independently of our schema table.
const RTCD: [string, string, unknown, string, unknown][] = [
  // TOML key, environment variable, default, env value to set, expected value
  ["api.http.listen_address", "RTCD_API_HTTP_LISTENADDRESS", ":8045", "127.0.0.1:9000", "127.0.0.1:9000"],
  ["api.http.tls.enable", "RTCD_API_HTTP_TLS_ENABLE", false, "false", false],
  ["api.http.tls.cert_file", "RTCD_API_HTTP_TLS_CERTFILE", "", "/c.pem", "/c.pem"],
  ["api.http.tls.cert_key", "RTCD_API_HTTP_TLS_CERTKEY", "", "/k.pem", "/k.pem"],
  ["api.security.enable_admin", "RTCD_API_SECURITY_ENABLEADMIN", false, "0", false],
  ["api.security.admin_secret_key", "RTCD_API_SECURITY_ADMINSECRETKEY", "", "s3cret", "s3cret"],
  ["api.security.allow_self_registration", "RTCD_API_SECURITY_ALLOWSELFREGISTRATION", false, "T", true],
  [
    "api.security.session_cache.expiration_minutes",
    "RTCD_API_SECURITY_SESSIONCACHE_EXPIRATIONMINUTES",
    1440,
    "0x10",
    16,
  ],
  ["rtc.ice_address_udp", "RTCD_RTC_ICEADDRESSUDP", "", "10.0.0.1, 10.0.0.2", "10.0.0.1, 10.0.0.2"],
  ["rtc.ice_port_udp", "RTCD_RTC_ICEPORTUDP", 8443, "30443", 30443],
  ["rtc.ice_address_tcp", "RTCD_RTC_ICEADDRESSTCP", "", "::1", "::1"],
  ["rtc.ice_port_tcp", "RTCD_RTC_ICEPORTTCP", 8443, "1_000", 1000],
  ["rtc.ice_host_override", "RTCD_RTC_ICEHOSTOVERRIDE", "", "rtc.example.com", "rtc.example.com"],
  [
    "rtc.ice_host_port_override",
    "RTCD_RTC_ICEHOSTPORTOVERRIDE",
    "",
    "10.0.0.1/8443,10.0.0.2/8444",
    "10.0.0.1/8443,10.0.0.2/8444",
  ],
  [
    "rtc.ice_servers",
    "RTCD_RTC_ICESERVERS",
    [],
    '["stun:stun.example.com:3478"]',
    [{ urls: ["stun:stun.example.com:3478"] }],
  ],
  ["rtc.turn.static_auth_secret", "RTCD_RTC_TURNCONFIG_STATICAUTHSECRET", "", "turnsecret", "turnsecret"],
  [
    "rtc.turn.credentials_expiration_minutes",
    "RTCD_RTC_TURNCONFIG_CREDENTIALSEXPIRATIONMINUTES",
    1440,
    "60",
    60,
  ],
  ["rtc.enable_ipv6", "RTCD_RTC_ENABLEIPV6", false, "true", true],
  ["rtc.udp_sockets_count", "RTCD_RTC_UDPSOCKETSCOUNT", availableParallelism() * 100, "4", 4],
  ["rtc.nack_buffer_size", "RTCD_RTC_NACKBUFFERSIZE", 256, "1024", 1024],
  ["rtc.nack_disable_copy", "RTCD_RTC_NACKDISABLECOPY", true, "false", false],
  ["store.data_source", "RTCD_STORE_DATASOURCE", "/tmp/rtcd_db", "/var/lib/rtcd", "/var/lib/rtcd"],
  ["logger.enable_console", "RTCD_LOGGER_ENABLECONSOLE", true, "1", true],
  ["logger.console_json", "RTCD_LOGGER_CONSOLEJSON", false, "TRUE", true],
  ["logger.console_level", "RTCD_LOGGER_CONSOLELEVEL", "INFO", "debug", "debug"],
  ["logger.enable_file", "RTCD_LOGGER_ENABLEFILE", true, "False", false],
  ["logger.file_json", "RTCD_LOGGER_FILEJSON", true, "f", false],
  ["logger.file_level", "RTCD_LOGGER_FILELEVEL", "DEBUG", "ERROR", "ERROR"],
  ["logger.file_location", "RTCD_LOGGER_FILELOCATION", "rtcd.log", "/var/log/rtcd.log", "/var/log/rtcd.log"],
  ["logger.enable_color", "RTCD_LOGGER_ENABLECOLOR", false, "t", true],
];

describe("rtcd's keys", () => {
  test("the schema has exactly rtcd's keys plus drain, media and limits", () => {
    expect(KEYS.map(keyName).sort()).toEqual(
      [
        ...RTCD.map((r) => r[0]),
        "drain.deadline_seconds",
        "media.workers",
        "media.consumers_per_worker",
        "limits.sessions_per_client",
        "limits.sessions_per_call",
        "limits.ws_connections_per_client",
        "limits.registrations",
        "limits.producers_per_session",
        "limits.http_connections",
      ].sort(),
    );
    for (const [key, env] of RTCD) expect(KEYS.find((k) => keyName(k) === key)!.env).toBe(env);
  });

  test("a missing file means rtcd's defaults", () => {
    const { config, fileMissing } = loadConfig(missing, {});
    expect(fileMissing).toBe(true);
    for (const [key, , def] of RTCD) expect(get(config, key), key).toEqual(def);
    expect(config.drain.deadline_seconds).toBe(17990);
  });

  test.for(RTCD)("%s is read from the environment as %s", ([key, env, , raw, want]) => {
    const { config } = loadConfig(missing, { [env as string]: raw as string });
    expect(get(config, key as string)).toEqual(want);
  });
});

describe("TOML file", () => {
  test("every section and key, environment on top", () => {
    const path = toml(`
[api]
http.listen_address = ":9045"
http.tls.enable = false
security.enable_admin = true
security.admin_secret_key = "adm-0123456789-0123456789-0123456789"
security.allow_self_registration = true
security.session_cache.expiration_minutes = 60

[rtc]
ice_address_udp = "127.0.0.1"
ice_port_udp = 9443
ice_host_port_override = 30443
ice_servers = ["stun:a:3478", {urls = ["turn:b:3478"], username = "u", credential = "c"}]
turn.static_auth_secret = "t"
turn.credentials_expiration_minutes = 30
nack_buffer_size = 512

[store]
data_source = "/data"

[logger]
enable_file = false
console_level = "WARN"

[drain]
deadline_seconds = 600
`);
    const { config, sources, unknownKeys } = loadConfig(path, { RTCD_RTC_ICEPORTUDP: "10443" });
    expect(config.api.http.listen_address).toBe(":9045");
    expect(config.api.security).toEqual({
      enable_admin: true,
      admin_secret_key: "adm-0123456789-0123456789-0123456789",
      allow_self_registration: true,
      session_cache: { expiration_minutes: 60 },
    });
    expect(config.rtc.ice_port_udp).toBe(10443);
    expect(sources.get("rtc.ice_port_udp")).toEqual({ kind: "env" });
    expect(sources.get("rtc.ice_address_udp")).toEqual({ kind: "file", path });
    expect(config.rtc.ice_host_port_override).toBe("30443");
    expect(config.rtc.ice_servers).toEqual([
      { urls: ["stun:a:3478"] },
      { urls: ["turn:b:3478"], username: "u", credential: "c" },
    ]);
    expect(config.rtc.turn).toEqual({ static_auth_secret: "t", credentials_expiration_minutes: 30 });
    expect(config.rtc.nack_buffer_size).toBe(512);
    expect(config.store.data_source).toBe("/data");
    expect(config.logger.enable_file).toBe(false);
    expect(config.drain.deadline_seconds).toBe(600);
    expect(unknownKeys).toEqual([]);
  });

  test("keys match case-insensitively, as BurntSushi/toml does; unknown keys are reported", () => {
    const { config, unknownKeys } = loadConfig(
      toml(`[API]\nHTTP.Listen_Address = ":1"\ntypo = 1\n[extra]\nx = 2`),
      {},
    );
    expect(config.api.http.listen_address).toBe(":1");
    expect(unknownKeys.sort()).toEqual(["API.typo", "extra.x"]);
  });

  test("the sample file loads", () => {
    const sample = join(import.meta.dirname, "..", "config", "config.sample.toml");
    expect(() => loadConfig(sample, {})).not.toThrow();
  });

  test("a file that is not TOML stops the start with its position", () => {
    expect(() => loadConfig(toml("[api\nx = "), {})).toThrow(ConfigFileError);
  });
});

describe("invalid values name the key, the value and what is allowed", () => {
  const cases: [string, Record<string, string>, string | undefined, RegExp][] = [
    [
      "port out of range",
      { RTCD_RTC_ICEPORTUDP: "70000" },
      undefined,
      /RTCD_RTC_ICEPORTUDP="70000".*rtc\.ice_port_udp.*allowed: an integer from 80 to 49151/,
    ],
    [
      "not a number",
      { RTCD_RTC_ICEPORTTCP: "84x3" },
      undefined,
      /RTCD_RTC_ICEPORTTCP="84x3".*allowed: an integer/,
    ],
    ["empty integer", { RTCD_RTC_UDPSOCKETSCOUNT: "" }, undefined, /RTCD_RTC_UDPSOCKETSCOUNT="".*allowed/],
    [
      "not a bool",
      { RTCD_API_SECURITY_ENABLEADMIN: "yes" },
      undefined,
      /RTCD_API_SECURITY_ENABLEADMIN="yes".*allowed: one of 1, t, T, TRUE/,
    ],
    ["nack size", { RTCD_RTC_NACKBUFFERSIZE: "100" }, undefined, /RTCD_RTC_NACKBUFFERSIZE="100".*power of 2/],
    [
      "nack uint16",
      { RTCD_RTC_NACKBUFFERSIZE: "70000" },
      undefined,
      /RTCD_RTC_NACKBUFFERSIZE="70000".*0 to 65535/,
    ],
    [
      "ice servers",
      { RTCD_RTC_ICESERVERS: '["http://x"]' },
      undefined,
      /RTCD_RTC_ICESERVERS=.*stun:\/stuns:/,
    ],
    ["ice servers json", { RTCD_RTC_ICESERVERS: "stun:x" }, undefined, /RTCD_RTC_ICESERVERS="stun:x".*JSON/],
    [
      "ice address",
      { RTCD_RTC_ICEADDRESSUDP: "1.2.3.4,nope" },
      undefined,
      /RTCD_RTC_ICEADDRESSUDP=.*IP addresses/,
    ],
    [
      "host override",
      { RTCD_RTC_ICEHOSTOVERRIDE: "1.2.3.4/x" },
      undefined,
      /RTCD_RTC_ICEHOSTOVERRIDE=.*externalIP\/internalIP/,
    ],
    [
      "port override",
      { RTCD_RTC_ICEHOSTPORTOVERRIDE: "70" },
      undefined,
      /RTCD_RTC_ICEHOSTPORTOVERRIDE="70".*80 to 49151/,
    ],
    [
      "port override map",
      { RTCD_RTC_ICEHOSTPORTOVERRIDE: "a/1,b/1" },
      undefined,
      /RTCD_RTC_ICEHOSTPORTOVERRIDE=.*without repeats/,
    ],
    [
      "listen address",
      { RTCD_API_HTTP_LISTENADDRESS: "8045" },
      undefined,
      /RTCD_API_HTTP_LISTENADDRESS="8045".*host:port/,
    ],
    [
      "session cache",
      { RTCD_API_SECURITY_SESSIONCACHE_EXPIRATIONMINUTES: "0" },
      undefined,
      /EXPIRATIONMINUTES="0".*positive/,
    ],
    ["store", { RTCD_STORE_DATASOURCE: "" }, undefined, /RTCD_STORE_DATASOURCE="".*non-empty/],
    [
      "admin secret",
      { RTCD_API_SECURITY_ENABLEADMIN: "true" },
      undefined,
      /api\.security\.admin_secret_key = "".*at least 32 bytes/,
    ],
    [
      "short admin secret",
      {
        RTCD_API_SECURITY_ENABLEADMIN: "true",
        RTCD_API_SECURITY_ADMINSECRETKEY: "only-31-bytes-xxxxxxxxxxxxxxxxx",
      },
      undefined,
      /RTCD_API_SECURITY_ADMINSECRETKEY=<redacted>.*at least 32 bytes when api\.security\.enable_admin/,
    ],
    [
      "tls files",
      { RTCD_API_HTTP_TLS_ENABLE: "true" },
      undefined,
      /api\.http\.tls\.cert_file.*PEM certificate/,
    ],
    [
      "tls unreadable",
      {
        RTCD_API_HTTP_TLS_ENABLE: "true",
        RTCD_API_HTTP_TLS_CERTFILE: "/nonexistent",
        RTCD_API_HTTP_TLS_CERTKEY: "/nonexistent",
      },
      undefined,
      /RTCD_API_HTTP_TLS_CERTFILE="\/nonexistent".*loads with/,
    ],
    [
      "turn expiration",
      {
        RTCD_RTC_TURNCONFIG_STATICAUTHSECRET: "s",
        RTCD_RTC_TURNCONFIG_CREDENTIALSEXPIRATIONMINUTES: "20000",
      },
      undefined,
      /CREDENTIALSEXPIRATIONMINUTES="20000".*less than a week/,
    ],
    [
      "log level",
      { RTCD_LOGGER_CONSOLELEVEL: "loud" },
      undefined,
      /RTCD_LOGGER_CONSOLELEVEL="loud".*one of panic, fatal/,
    ],
    [
      "no log target",
      { RTCD_LOGGER_ENABLECONSOLE: "false", RTCD_LOGGER_ENABLEFILE: "false" },
      undefined,
      /at least one log target/,
    ],
    ["drain deadline", { RTCD_DRAIN_DEADLINESECONDS: "-1" }, undefined, /RTCD_DRAIN_DEADLINESECONDS="-1"/],
    [
      "file: float for an integer",
      {},
      "[rtc]\nice_port_udp = 8443.0",
      /rtc\.ice_port_udp = 8443 in .*allowed: an integer \(got a float\)/,
    ],
    [
      "file: string for a bool",
      {},
      '[api]\nhttp.tls.enable = "true"',
      /api\.http\.tls\.enable = "true" in .*RTCD_API_HTTP_TLS_ENABLE.*true or false/,
    ],
    ["file: port", {}, "[rtc]\nice_port_tcp = 79", /rtc\.ice_port_tcp = 79 in /],
  ];
  test.for(cases)("%s", ([, env, file, pattern]) => {
    const err = configError(() => loadConfig(file ? toml(file) : missing, env));
    expect(err.message).toMatch(pattern);
  });

  test("all problems are reported at once", () => {
    const err = configError(() =>
      loadConfig(missing, { RTCD_RTC_ICEPORTUDP: "1", RTCD_RTC_ICEPORTTCP: "2" }),
    );
    expect(err.issues.map((i) => i.env)).toEqual(["RTCD_RTC_ICEPORTUDP", "RTCD_RTC_ICEPORTTCP"]);
  });

  test("secrets are never echoed", () => {
    const { config } = loadConfig(missing, {
      RTCD_API_SECURITY_ENABLEADMIN: "true",
      RTCD_API_SECURITY_ADMINSECRETKEY: "topsecret-topsecret-topsecret-topsecret",
      RTCD_RTC_ICESERVERS: '[{"urls":["turn:x"],"username":"u","credential":"pw"}]',
    });
    expect(JSON.stringify(redacted(config))).not.toMatch(/topsecret|"pw"/);
  });
});

describe("Go's strconv, as envconfig uses it", () => {
  test("ParseBool", () => {
    for (const t of ["1", "t", "T", "TRUE", "true", "True"]) expect(parseGoBool(t)).toBe(true);
    for (const f of ["0", "f", "F", "FALSE", "false", "False"]) expect(parseGoBool(f)).toBe(false);
    for (const x of ["", "yes", "tRUE", " true"]) expect(parseGoBool(x)).toBeUndefined();
  });
  test("ParseInt with base 0", () => {
    const cases: [string, bigint | undefined][] = [
      ["42", 42n],
      ["-42", -42n],
      ["+7", 7n],
      ["0x1F", 31n],
      ["0o17", 15n],
      ["017", 15n],
      ["0b101", 5n],
      ["1_000", 1000n],
      ["0x_1f", 31n],
      ["_1", undefined],
      ["1__0", undefined],
      ["1_", undefined],
      ["", undefined],
      ["08", undefined],
      ["1.0", undefined],
      [" 1", undefined],
    ];
    for (const [s, want] of cases) expect(parseGoInt(s, true), s).toBe(want);
    expect(parseGoInt("-1", false)).toBeUndefined();
  });
});
