// The real Mattermost server with the Calls plugin, configured by
// environment as an administrator would, set up through API v4.
//
// It runs in a mount namespace of its own whose /etc/hosts is a file of
// ours: the plugin resolves the rtcd URL's host name there, so a test can
// make one name resolve to several rtcds, and take one away, without
// touching the machine's /etc/hosts or running a DNS server (the plugin is
// a static Go binary: its resolver reads /etc/hosts on every lookup, and
// re-reads it when the file changes).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "@mattermost-rtcd/e2e/cluster";
import { startProc, stopProc, tailOf, waitFor, type Proc } from "./proc.ts";

export const PLUGIN_ID = "com.mattermost.calls";

export interface MattermostOptions {
  dir: string;
  mattermost: string;
  serverDir: string;
  pluginBundle: string;
  dataSource: string;
  /** The rtcd URL as users give it (MM_CALLS_RTCD_SERVICE_URL). */
  rtcdURL: string;
  /** MM_CALLS_RTCD_CLIENT_ID / MM_CALLS_RTCD_AUTH_KEY, as the chart's notes say. */
  clientID: string;
  authKey: string;
  /** Host name -> addresses, written to the namespace's /etc/hosts. */
  hosts: Record<string, string[]>;
}

export interface Mattermost {
  url: string;
  proc: Proc;
  logFile: string;
  pluginLog: string;
  adminToken: string;
  teamID: string;
  channelID: string;
  api<T>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  setHosts(hosts: Record<string, string[]>): void;
  newChannel(name: string): Promise<string>;
  newUsers(n: number, prefix: string, channels?: string[]): Promise<{ id: string; token: string }[]>;
  stop(): Promise<void>;
}

function hostsFile(hosts: Record<string, string[]>): string {
  const lines = ["127.0.0.1 localhost"];
  for (const [name, addrs] of Object.entries(hosts)) for (const a of addrs) lines.push(`${a} ${name}`);
  return lines.join("\n") + "\n";
}

export async function startMattermost(o: MattermostOptions): Promise<Mattermost> {
  mkdirSync(o.dir, { recursive: true });
  for (const d of ["plugins", "client-plugins", "data", "config"])
    mkdirSync(join(o.dir, d), { recursive: true });
  const hostsPath = join(o.dir, "hosts");
  writeFileSync(hostsPath, hostsFile(o.hosts));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configPath = join(o.dir, "config", "config.json");
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "",
    HOME: o.dir,
    MM_SQLSETTINGS_DRIVERNAME: "postgres",
    MM_SQLSETTINGS_DATASOURCE: o.dataSource,
    MM_SERVICESETTINGS_LISTENADDRESS: `127.0.0.1:${port}`,
    MM_SERVICESETTINGS_SITEURL: url,
    // Without a licence the plugin uses an rtcd only in developer mode.
    MM_SERVICESETTINGS_ENABLEDEVELOPER: "true",
    MM_SERVICESETTINGS_ENABLETESTING: "true",
    MM_SERVICESETTINGS_ENABLESECURITYFIXALERT: "false",
    MM_PLUGINSETTINGS_ENABLE: "true",
    MM_PLUGINSETTINGS_ENABLEUPLOADS: "true",
    MM_PLUGINSETTINGS_DIRECTORY: join(o.dir, "plugins"),
    MM_PLUGINSETTINGS_CLIENTDIRECTORY: join(o.dir, "client-plugins"),
    MM_PLUGINSETTINGS_AUTOMATICPREPACKAGEDPLUGINS: "false",
    MM_FILESETTINGS_DIRECTORY: join(o.dir, "data"),
    MM_TEAMSETTINGS_ENABLEOPENSERVER: "true",
    MM_TEAMSETTINGS_MAXUSERSPERTEAM: "1000",
    MM_EMAILSETTINGS_REQUIREEMAILVERIFICATION: "false",
    MM_EMAILSETTINGS_SENDEMAILNOTIFICATIONS: "false",
    MM_RATELIMITSETTINGS_ENABLE: "false",
    MM_LOGSETTINGS_ENABLEDIAGNOSTICS: "false",
    MM_LOGSETTINGS_CONSOLELEVEL: "INFO",
    MM_LOGSETTINGS_FILELEVEL: "DEBUG",
    MM_LOGSETTINGS_FILELOCATION: o.dir,
    MM_METRICSSETTINGS_ENABLE: "false",
    // What our chart's notes tell users to set on the Mattermost side.
    MM_CALLS_RTCD_SERVICE_URL: o.rtcdURL,
    MM_CALLS_RTCD_CLIENT_ID: o.clientID,
    MM_CALLS_RTCD_AUTH_KEY: o.authKey,
  };
  const logFile = join(o.dir, "mattermost.out");
  // The bind mount exists only in the new namespace; it ends with the process.
  const proc = startProc(
    "mattermost",
    "unshare",
    [
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount --bind "$0" /etc/hosts && exec "$@"',
      hostsPath,
      o.mattermost,
      "server",
      "--config",
      configPath,
    ],
    { cwd: o.serverDir, env, logFile },
  );
  const pluginLog = join(o.dir, "mattermost.log");
  const api = async <T>(method: string, path: string, body?: unknown, token?: string): Promise<T> => {
    const headers: Record<string, string> = { "X-Requested-With": "XMLHttpRequest" };
    if (token) headers["Authorization"] = `Bearer ${token}`;
    let payload: FormData | string | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const r = await fetch(`${url}/api/v4${path}`, { method, headers, ...(payload ? { body: payload } : {}) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    const parsed = (text ? JSON.parse(text) : {}) as T;
    if (path === "/users/login") (parsed as { token?: string }).token = r.headers.get("Token") ?? "";
    return parsed;
  };
  const tails = () => `--- mattermost\n${tailOf(logFile)}\n--- mattermost.log\n${tailOf(pluginLog)}`;
  await waitFor(
    "Mattermost to answer /system/ping",
    async () => {
      if (proc.proc.exitCode !== null)
        throw new Error(`Mattermost exited (${proc.proc.exitCode}):\n${tails()}`);
      return fetch(`${url}/api/v4/system/ping`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      );
    },
    120_000,
    tails,
  );
  // The first user becomes the system admin.
  const admin = { email: "admin@example.com", username: "admin", password: "Admin-password-1!" };
  await api("POST", "/users", admin);
  const login = await api<{ token: string }>("POST", "/users/login", {
    login_id: admin.username,
    password: admin.password,
  });
  const token = login.token;
  const team = await api<{ id: string }>(
    "POST",
    "/teams",
    { name: "calls", display_name: "Calls", type: "O", allow_open_invite: true },
    token,
  );
  const newChannel = async (name: string) =>
    (
      await api<{ id: string }>(
        "POST",
        "/channels",
        { team_id: team.id, name, display_name: name, type: "O" },
        token,
      )
    ).id;
  const channelID = await newChannel("town");
  const form = new FormData();
  form.append("plugin", new Blob([readFileSync(o.pluginBundle)]), "calls.tar.gz");
  form.append("force", "true");
  await api("POST", "/plugins", form, token);
  await api(
    "PUT",
    "/config/patch",
    { PluginSettings: { Plugins: { [PLUGIN_ID]: { defaultenabled: true, iceserversconfigs: "[]" } } } },
    token,
  );
  await api("POST", `/plugins/${PLUGIN_ID}/enable`, undefined, token);
  await waitFor(
    "the Calls plugin to connect to rtcd",
    () =>
      tailOf(pluginLog, 100000).includes("rtcd version compatibility check succeeded") ? true : undefined,
    60_000,
    tails,
  );
  const newUsers = async (n: number, prefix: string, channels: string[] = [channelID]) => {
    const out: { id: string; token: string }[] = [];
    for (let i = 0; i < n; i++) {
      const u = {
        email: `${prefix}${i}@example.com`,
        username: `${prefix}${i}`,
        password: "User-password-1!",
      };
      const created = await api<{ id: string }>("POST", "/users", u, token);
      await api("POST", `/teams/${team.id}/members`, { team_id: team.id, user_id: created.id }, token);
      for (const ch of channels) await api("POST", `/channels/${ch}/members`, { user_id: created.id }, token);
      const l = await api<{ token: string }>("POST", "/users/login", {
        login_id: u.username,
        password: u.password,
      });
      out.push({ id: created.id, token: l.token });
    }
    return out;
  };
  return {
    url,
    proc,
    logFile,
    pluginLog,
    adminToken: token,
    teamID: team.id,
    channelID,
    api,
    setHosts: (hosts) => writeFileSync(hostsPath, hostsFile(hosts)),
    newChannel,
    newUsers,
    stop: () => stopProc(proc, 15_000),
  };
}
