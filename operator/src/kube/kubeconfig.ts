// What the operator needs to reach the API server, read from a kubeconfig or
// from the pod's service account. client-node's KubeConfig does this too, but
// importing it loads client-node's whole generated API and every cloud auth
// provider: about 40 MiB of the process's resident memory at rest (measured
// in docs/benchmarks.md), for an operator that sends its own requests.
//
// Pure: parsing and choosing the context here; files and commands are read
// by KubeAccess (access.ts).
import { parse } from "yaml";

/** A credential given inline (base64, as kubeconfigs carry it) or as a file. */
export type Material = { data: string } | { file: string };

export interface ExecPlugin {
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  apiVersion: string;
}

export interface Connection {
  /** Where the settings came from, for error messages. */
  source: string;
  /** The API server's URL, without a trailing slash. */
  server: string;
  ca?: Material;
  insecureSkipTLSVerify: boolean;
  tlsServerName?: string;
  clientCert?: Material;
  clientKey?: Material;
  token?: string;
  tokenFile?: string;
  exec?: ExecPlugin;
}

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeconfigError";
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function named(list: unknown, key: string): Map<string, Obj> {
  const out = new Map<string, Obj>();
  if (!Array.isArray(list)) return out;
  for (const e of list) {
    if (!isObj(e) || typeof e.name !== "string") continue;
    const body = e[key];
    // Several files (KUBECONFIG=a:b) merge with the first definition winning, as kubectl does.
    if (isObj(body) && !out.has(e.name)) out.set(e.name, body);
  }
  return out;
}

/** A relative path in a kubeconfig is relative to that file's directory. */
function resolvePath(p: string, dir: string): string {
  return p.startsWith("/") ? p : `${dir.replace(/\/$/, "")}/${p}`;
}

function material(data: unknown, file: unknown, dir: string): Material | undefined {
  const d = str(data);
  if (d) return { data: d };
  const f = str(file);
  return f ? { file: resolvePath(f, dir) } : undefined;
}

export interface KubeconfigFile {
  path: string;
  text: string;
}

/**
 * The connection of a kubeconfig's current context. Several files merge as
 * kubectl merges KUBECONFIG's list: the first to name an entry (or the
 * current context) wins.
 */
export function connectionFromKubeconfig(files: readonly KubeconfigFile[], context?: string): Connection {
  const clusters = new Map<string, { body: Obj; dir: string }>();
  const users = new Map<string, { body: Obj; dir: string }>();
  const contexts = new Map<string, Obj>();
  let current: string | undefined;
  for (const f of files) {
    let doc: unknown;
    try {
      doc = parse(f.text);
    } catch (err) {
      throw new KubeconfigError(`kubeconfig ${f.path}: not YAML: ${(err as Error).message}`);
    }
    if (doc == null) continue;
    if (!isObj(doc)) throw new KubeconfigError(`kubeconfig ${f.path}: not a mapping`);
    const dir = f.path.slice(0, f.path.lastIndexOf("/") + 1) || ".";
    for (const [n, b] of named(doc.clusters, "cluster"))
      if (!clusters.has(n)) clusters.set(n, { body: b, dir });
    for (const [n, b] of named(doc.users, "user")) if (!users.has(n)) users.set(n, { body: b, dir });
    for (const [n, b] of named(doc.contexts, "context")) if (!contexts.has(n)) contexts.set(n, b);
    current ??= str(doc["current-context"]);
  }
  const where = files.map((f) => f.path).join(":");
  const ctxName = context ?? current;
  if (!ctxName) throw new KubeconfigError(`kubeconfig ${where}: no current-context`);
  const ctx = contexts.get(ctxName);
  if (!ctx) throw new KubeconfigError(`kubeconfig ${where}: context "${ctxName}" is not defined`);
  const clusterName = str(ctx.cluster);
  const cluster = clusterName ? clusters.get(clusterName) : undefined;
  if (!cluster)
    throw new KubeconfigError(`kubeconfig ${where}: context "${ctxName}" names no defined cluster`);
  const source = `kubeconfig ${where}, context "${ctxName}"`;
  const c = cluster.body;
  const server = str(c.server);
  if (!server) throw new KubeconfigError(`${source}: cluster "${clusterName}" has no server`);
  if (str(c["proxy-url"])) throw new KubeconfigError(`${source}: proxy-url is not supported`);
  const conn: Connection = {
    source,
    server: server.replace(/\/+$/, ""),
    insecureSkipTLSVerify: c["insecure-skip-tls-verify"] === true,
  };
  const ca = material(c["certificate-authority-data"], c["certificate-authority"], cluster.dir);
  if (ca) conn.ca = ca;
  const sni = str(c["tls-server-name"]);
  if (sni) conn.tlsServerName = sni;

  const userName = str(ctx.user);
  const user = userName ? users.get(userName) : undefined;
  if (userName && !user) throw new KubeconfigError(`${source}: user "${userName}" is not defined`);
  if (!user) return conn;
  const u = user.body;
  // Refused by name rather than ignored: a request without the credentials
  // the user meant would fail later as an unexplained 401 or 403.
  if (isObj(u["auth-provider"])) {
    throw new KubeconfigError(
      `${source}: auth-provider is not supported; use a token, a client certificate or exec`,
    );
  }
  if (str(u.username) || str(u.password)) {
    throw new KubeconfigError(`${source}: basic authentication (username/password) is not supported`);
  }
  const cert = material(u["client-certificate-data"], u["client-certificate"], user.dir);
  const key = material(u["client-key-data"], u["client-key"], user.dir);
  if (!!cert !== !!key)
    throw new KubeconfigError(`${source}: a client certificate needs its key, and a key its certificate`);
  if (cert && key) {
    conn.clientCert = cert;
    conn.clientKey = key;
  }
  const token = str(u.token);
  if (token) conn.token = token;
  const tokenFile = str(u.tokenFile);
  if (tokenFile) conn.tokenFile = resolvePath(tokenFile, user.dir);
  if (isObj(u.exec)) conn.exec = execPlugin(u.exec, source);
  return conn;
}

function execPlugin(e: Obj, source: string): ExecPlugin {
  const command = str(e.command);
  if (!command) throw new KubeconfigError(`${source}: exec has no command`);
  const args = Array.isArray(e.args) ? e.args.filter((a): a is string => typeof a === "string") : [];
  const env = Array.isArray(e.env)
    ? e.env.filter(isObj).map((v) => ({ name: String(v.name ?? ""), value: String(v.value ?? "") }))
    : [];
  return { command, args, env, apiVersion: str(e.apiVersion) ?? "client.authentication.k8s.io/v1" };
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The pod's own connection, from the environment the kubelet gives every container. */
export function inClusterConnection(env: NodeJS.ProcessEnv, saDir = SERVICE_ACCOUNT_DIR): Connection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeconfigError(
      "not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set",
    );
  }
  const h = host.includes(":") ? `[${host}]` : host;
  return {
    source: `in-cluster service account (${saDir})`,
    server: `https://${h}:${port}`,
    ca: { file: `${saDir}/ca.crt` },
    insecureSkipTLSVerify: false,
    tokenFile: `${saDir}/token`,
  };
}
