// The connection to one API server: its URL, one pool of kept-alive TLS
// connections (undici Agent) and the credentials every request carries. The
// settings come from kubeconfig.ts; this is the part that reads files and
// runs credential plugins.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { Agent } from "undici";
import {
  connectionFromKubeconfig,
  inClusterConnection,
  KubeconfigError,
  SERVICE_ACCOUNT_DIR,
  type Connection,
  type ExecPlugin,
  type Material,
} from "./kubeconfig.ts";

/** A token file is read again after this long: the kubelet rotates projected service account tokens. */
const TOKEN_FILE_TTL_MS = 60_000;
/** An exec plugin's token is renewed this long before it expires. */
const EXEC_RENEW_BEFORE_MS = 10_000;
const EXEC_TIMEOUT_MS = 60_000;

function readMaterial(m: Material | undefined, what: string, source: string): Buffer | undefined {
  if (!m) return undefined;
  if ("data" in m) return Buffer.from(m.data, "base64");
  try {
    return readFileSync(m.file);
  } catch (err) {
    throw new KubeconfigError(`${source}: cannot read the ${what} ${m.file}: ${(err as Error).message}`);
  }
}

export class KubeAccess {
  readonly server: string;
  readonly source: string;
  /** Every request and watch to this server shares it, so TLS connections are reused. */
  readonly dispatcher: Agent;
  private readonly conn: Connection;
  private fileToken: { value: string; readAt: number } | undefined;
  private execToken: { value: string; renewAt: number } | undefined;
  private execRunning: Promise<string> | undefined;
  private readonly now: () => number;

  /** `now` is a monotonic clock in ms (tests pass one they advance). */
  constructor(conn: Connection, now: () => number = () => performance.now()) {
    this.conn = conn;
    this.now = now;
    this.server = conn.server;
    this.source = conn.source;
    const ca = readMaterial(conn.ca, "certificate authority", conn.source);
    const cert = readMaterial(conn.clientCert, "client certificate", conn.source);
    const key = readMaterial(conn.clientKey, "client key", conn.source);
    this.dispatcher = new Agent({
      // HTTP/2, as client-go speaks it: every watch is a stream on one
      // connection (undici opens more when the server's stream limit is
      // reached), not a TLS connection of its own. A PING every 15 s, and a
      // connection reset when one goes unanswered until the next, finds a
      // connection that died silently (a partition leaves no RST) within
      // 30 s, as client-go's HTTP/2 health check does; without it every
      // request and watch would queue on the dead one.
      allowH2: true,
      h2Options: { pingInterval: 15_000 },
      connect: {
        ...(ca ? { ca } : {}),
        ...(cert && key ? { cert, key } : {}),
        rejectUnauthorized: !conn.insecureSkipTLSVerify,
        ...(conn.tlsServerName ? { servername: conn.tlsServerName } : {}),
      },
    });
  }

  static fromFile(path: string, context?: string): KubeAccess {
    return new KubeAccess(connectionFromKubeconfig([{ path, text: readKubeconfig(path) }], context));
  }

  /** As kubectl looks: $KUBECONFIG's files, ~/.kube/config, then the pod's service account. */
  static fromDefault(env: NodeJS.ProcessEnv = process.env): KubeAccess {
    const listed = (env.KUBECONFIG ?? "").split(":").filter((p) => p !== "" && existsSync(p));
    if (listed.length) {
      return new KubeAccess(
        connectionFromKubeconfig(listed.map((path) => ({ path, text: readKubeconfig(path) }))),
      );
    }
    const home = `${env.HOME ?? homedir()}/.kube/config`;
    if (existsSync(home)) return KubeAccess.fromFile(home);
    if (env.KUBERNETES_SERVICE_HOST && existsSync(`${SERVICE_ACCOUNT_DIR}/token`)) {
      return new KubeAccess(inClusterConnection(env));
    }
    throw new KubeconfigError(
      "no kubeconfig: pass --kubeconfig, set KUBECONFIG or ~/.kube/config, or run in a pod with a service account",
    );
  }

  /** The Authorization header for the next request, if the connection has a bearer token. */
  async headers(): Promise<Record<string, string>> {
    const token = await this.token();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async token(): Promise<string | undefined> {
    const c = this.conn;
    if (c.exec) return this.execTokenNow(c.exec);
    if (c.tokenFile) {
      const now = this.now();
      if (!this.fileToken || now - this.fileToken.readAt >= TOKEN_FILE_TTL_MS) {
        let value: string;
        try {
          value = readFileSync(c.tokenFile, "utf8").trim();
        } catch (err) {
          // A token read before keeps working until the file is back.
          if (this.fileToken) return this.fileToken.value;
          throw new KubeconfigError(
            `${c.source}: cannot read the token file ${c.tokenFile}: ${(err as Error).message}`,
          );
        }
        this.fileToken = { value, readAt: now };
      }
      return this.fileToken.value;
    }
    return c.token;
  }

  private async execTokenNow(plugin: ExecPlugin): Promise<string> {
    if (this.execToken && Date.now() < this.execToken.renewAt) return this.execToken.value;
    // Concurrent requests wait for one run of the plugin.
    this.execRunning ??= runExecPlugin(plugin, this.conn.source).then(
      (cred) => {
        this.execRunning = undefined;
        this.execToken = { value: cred.token, renewAt: cred.expiresAt - EXEC_RENEW_BEFORE_MS };
        return cred.token;
      },
      (err: unknown) => {
        this.execRunning = undefined;
        throw err;
      },
    );
    return this.execRunning;
  }
}

function readKubeconfig(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
}

/** Runs a client-go credential plugin and takes the token from its ExecCredential. */
function runExecPlugin(p: ExecPlugin, source: string): Promise<{ token: string; expiresAt: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const e of p.env) env[e.name] = e.value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify({
    apiVersion: p.apiVersion,
    kind: "ExecCredential",
    spec: { interactive: false },
  });
  return new Promise((resolve, reject) => {
    execFile(
      p.command,
      p.args,
      { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          // The plugin's stderr may say why; its stdout may hold a credential, so it is never quoted.
          const why = stderr.trim().split("\n").slice(-3).join(" ").slice(0, 500);
          const how = err.killed
            ? `no answer within ${EXEC_TIMEOUT_MS} ms`
            : typeof err.code === "number"
              ? `exit ${err.code}`
              : String(err.code ?? err.message);
          reject(
            new KubeconfigError(
              `${source}: exec plugin ${p.command} failed (${how})${why ? `: ${why}` : ""}`,
            ),
          );
          return;
        }
        let cred: {
          status?: { token?: unknown; expirationTimestamp?: unknown; clientCertificateData?: unknown };
        };
        try {
          cred = JSON.parse(stdout) as typeof cred;
        } catch {
          reject(new KubeconfigError(`${source}: exec plugin ${p.command} printed no ExecCredential JSON`));
          return;
        }
        const token = cred.status?.token;
        if (typeof token !== "string" || token === "") {
          reject(
            new KubeconfigError(
              cred.status?.clientCertificateData
                ? `${source}: exec plugin ${p.command} returned a client certificate; only token credentials are supported`
                : `${source}: exec plugin ${p.command} returned no token`,
            ),
          );
          return;
        }
        const exp =
          typeof cred.status?.expirationTimestamp === "string"
            ? Date.parse(cred.status.expirationTimestamp)
            : NaN;
        resolve({ token, expiresAt: Number.isFinite(exp) ? exp : Number.POSITIVE_INFINITY });
      },
    );
  });
}
