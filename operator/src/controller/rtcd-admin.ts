// Talks to one rtcd pod's HTTP API as its admin, the same way for Mattermost's
// rtcd and ours: POST /login to check a client's credentials, POST /register
// (Basic auth with the admin key) to add it, POST /unregister to replace a
// client whose key changed. Every request has a deadline; no key is ever
// put in an error message.
import { Agent, fetch, type Response } from "undici";

export const RTCD_REQUEST_TIMEOUT_MS = 5_000;

// The pods' serving certificate names the Service, not the pod IP we dial,
// and its CA is the user's: verifying it here is not possible. The admin key
// crosses the same in-cluster network a plain-HTTP rtcd would use.
const insecureTLS = new Agent({ connect: { rejectUnauthorized: false } });

export class RtcdAdminError extends Error {
  /** Worth retrying soon (timeouts, connection errors, 429/503): not a verdict on the credentials. */
  readonly transient: boolean;
  constructor(message: string, transient: boolean) {
    super(message);
    this.transient = transient;
  }
}

interface Reply {
  status: number;
  error: string;
}

async function post(base: string, path: string, body: unknown, auth?: string): Promise<Reply> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (auth) headers["Authorization"] = auth;
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(RTCD_REQUEST_TIMEOUT_MS),
      dispatcher: base.startsWith("https:") ? insecureTLS : undefined,
    });
  } catch (err) {
    const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : "";
    throw new RtcdAdminError(`POST ${path}: ${why || "request failed"}`, true);
  }
  const text = (await res.text().catch(() => "")).slice(0, 300);
  let error = text;
  try {
    const j = JSON.parse(text) as { err?: unknown; error?: unknown };
    error = String(j.err ?? j.error ?? text);
  } catch {
    // rtcd answers some refusals in plain text.
  }
  return { status: res.status, error };
}

function transientStatus(status: number): boolean {
  return status === 429 || status === 503 || status >= 500;
}

export async function canLogin(base: string, clientID: string, authKey: string): Promise<boolean> {
  const r = await post(base, "/login", { clientID, authKey });
  if (r.status === 200) return true;
  if (transientStatus(r.status)) throw new RtcdAdminError(`POST /login: HTTP ${r.status}: ${r.error}`, true);
  return false;
}

function adminAuth(adminKey: string): string {
  // rtcd takes the admin key as the Basic password; the user name is ignored.
  return `Basic ${Buffer.from(`admin:${adminKey}`).toString("base64")}`;
}

export type Outcome = "present" | "registered" | "replaced";

/**
 * Makes sure `clientID` logs in with `authKey` on the rtcd at `base`.
 * Idempotent: a client that already logs in is left alone; one registered
 * with another key is unregistered and registered again (the Secret is the
 * source of truth).
 */
export async function ensureRegistered(
  base: string,
  creds: { clientID: string; authKey: string },
  adminKey: string,
): Promise<Outcome> {
  if (await canLogin(base, creds.clientID, creds.authKey)) return "present";
  const body = { clientID: creds.clientID, authKey: creds.authKey };
  let outcome: Outcome = "registered";
  let r = await post(base, "/register", body, adminAuth(adminKey));
  if (r.status === 400 && /already registered/.test(r.error)) {
    const u = await post(base, "/unregister", { clientID: creds.clientID }, adminAuth(adminKey));
    if (u.status !== 200) {
      throw new RtcdAdminError(`POST /unregister: HTTP ${u.status}: ${u.error}`, transientStatus(u.status));
    }
    outcome = "replaced";
    r = await post(base, "/register", body, adminAuth(adminKey));
  }
  if (r.status !== 201) {
    throw new RtcdAdminError(`POST /register: HTTP ${r.status}: ${r.error}`, transientStatus(r.status));
  }
  if (!(await canLogin(base, creds.clientID, creds.authKey))) {
    throw new RtcdAdminError("registered, but the client cannot log in", false);
  }
  return outcome;
}

/** Removes a client (idempotent: an unknown client is not an error). */
export async function unregister(base: string, clientID: string, adminKey: string): Promise<void> {
  const r = await post(base, "/unregister", { clientID }, adminAuth(adminKey));
  if (r.status === 200 || (r.status === 400 && /not found/i.test(r.error))) return;
  throw new RtcdAdminError(`POST /unregister: HTTP ${r.status}: ${r.error}`, transientStatus(r.status));
}
