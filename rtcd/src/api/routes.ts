// The HTTP routes, with rtcd's methods, status codes, bodies and auth rules.
// Every route other than a match answers Go's "404 page not found", a
// route hit with the wrong method too.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallRegistry } from "../calls/registry.ts";
import type { SessionConfig } from "../calls/media.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { VersionInfo } from "../version.ts";
import { AuthError, type AuthService } from "./auth.ts";
import { BodyError, decodeStringMap, readBody } from "./body.ts";
import { cleanPath, notFound, redirect, sendError, sendJSON, sendResult } from "./respond.ts";

export interface ApiDeps {
  auth: AuthService;
  registry: CallRegistry;
  metrics: Metrics;
  log: Logger;
  allowSelfRegistration: boolean;
  enableAdmin: boolean;
  version: () => VersionInfo;
  cpuLoad: () => number;
  /** Why new calls should not come here now, or undefined when they may. */
  notReady: () => "draining" | "starting" | undefined;
  // Able to serve at all (false when the media plane is broken): both
  // probes fail, so that Kubernetes restarts the pod.
  healthy: () => boolean;
}

type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  d: ApiDeps,
  params: string[],
) => Promise<void> | void;

// Path segments after the leading slash, "*" a non-empty wildcard.
const ROUTES: [string[], Handler][] = [
  [["version"], getOnly((_q, res, d) => sendJSON(res, 200, d.version()))],
  [["system"], getOnly((_q, res, d) => sendJSON(res, 200, { cpu_load: d.cpuLoad() }))],
  [["register"], postOnly(register)],
  [["unregister"], postOnly(unregister)],
  [["login"], postOnly(login)],
  [["calls", "*", "sessions"], getOnly(sessions)],
  [["calls", "*", "sessions", "*"], getOnly(session)],
  [["metrics"], metrics],
  [["ws"], wsWithoutUpgrade],
  [
    ["healthz"],
    getOnly((_q, res, d) =>
      d.healthy() ? sendJSON(res, 200, { status: "ok" }) : sendJSON(res, 503, { status: "unhealthy" }),
    ),
  ],
  [["readyz"], getOnly(readyz)],
];

function readyz(_req: IncomingMessage, res: ServerResponse, d: ApiDeps): void {
  if (!d.healthy()) return sendJSON(res, 503, { status: "unhealthy" });
  const why = d.notReady();
  if (why) return sendJSON(res, 503, { status: why });
  sendJSON(res, 200, { status: "ready" });
}

export async function route(req: IncomingMessage, res: ServerResponse, d: ApiDeps): Promise<void> {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const rawPath = q < 0 ? url : url.slice(0, q);
  const segments = splitPath(rawPath);
  if (!segments) return sendError(res, 400, "Bad Request");
  const decoded = "/" + segments.join("/");
  if (req.method !== "CONNECT") {
    const clean = cleanPath(decoded);
    if (clean !== decoded) return redirect(res, encodeURI(clean) + (q < 0 ? "" : url.slice(q)));
  }
  for (const [pattern, handler] of ROUTES) {
    const params = match(pattern, segments);
    if (params) return handler(req, res, d, params);
  }
  notFound(res);
}

export function pathOf(url: string | undefined): string {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return q < 0 ? u : u.slice(0, q);
}

function splitPath(raw: string): string[] | undefined {
  if (!raw.startsWith("/")) return undefined;
  try {
    return raw.slice(1).split("/").map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function match(pattern: string[], segments: string[]): string[] | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p === "*") {
      if (s === "") return undefined;
      params.push(s);
    } else if (p !== s) return undefined;
  }
  return params;
}

function getOnly(h: Handler): Handler {
  return (req, res, d, p) => (req.method === "GET" ? h(req, res, d, p) : notFound(res));
}

function postOnly(h: Handler): Handler {
  return (req, res, d, p) => (req.method === "POST" ? h(req, res, d, p) : notFound(res));
}

async function body(req: IncomingMessage): Promise<Record<string, string>> {
  return decodeStringMap(await readBody(req));
}

async function register(req: IncomingMessage, res: ServerResponse, d: ApiDeps): Promise<void> {
  if (!d.allowSelfRegistration) {
    const a = await d.auth.check(req.headers.authorization, req.socket.remoteAddress);
    if (!a.ok) return sendResult(res, a.code, {}, a.error);
  }
  let data: Record<string, string>;
  try {
    data = await body(req);
  } catch (err) {
    return bodyFailure(res, err);
  }
  const clientID = data["clientID"] ?? "";
  try {
    await d.auth.register(clientID, data["authKey"] ?? "", req.socket.remoteAddress);
  } catch (err) {
    return sendResult(res, authStatus(err), {}, authMessage(err));
  }
  d.log.info("api: registered new mattermost client", { clientID });
  sendResult(res, 201, { clientID });
}

async function unregister(req: IncomingMessage, res: ServerResponse, d: ApiDeps): Promise<void> {
  if (!d.enableAdmin && !d.allowSelfRegistration) {
    d.log.warn("api: /unregister was called, but enable_admin and allow_self_registration are both false");
    return sendResult(res, 403, {}, "unregister not enabled");
  }
  const a = await d.auth.check(req.headers.authorization, req.socket.remoteAddress);
  if (!a.ok) return sendResult(res, a.code, {}, a.error);
  let data: Record<string, string>;
  try {
    data = await body(req);
  } catch (err) {
    return bodyFailure(res, err);
  }
  const clientID = data["clientID"] ?? "";
  if (clientID === "") return sendResult(res, 400, {}, "client id should not be empty");
  // A client may only remove itself; the admin may remove anyone.
  if (!a.admin && a.clientID !== clientID) return sendResult(res, 403, {}, "client id not valid");
  try {
    d.auth.unregister(clientID);
  } catch (err) {
    return sendResult(res, 400, {}, authMessage(err));
  }
  d.log.info("api: unregistered mattermost client", { clientID });
  sendResult(res, 200, {});
}

async function login(req: IncomingMessage, res: ServerResponse, d: ApiDeps): Promise<void> {
  let data: Record<string, string>;
  try {
    data = await body(req);
  } catch (err) {
    return bodyFailure(res, err);
  }
  const clientID = data["clientID"] ?? "";
  let bearerToken: string;
  try {
    bearerToken = await d.auth.login(clientID, data["authKey"] ?? "", req.socket.remoteAddress);
  } catch (err) {
    return sendResult(res, authStatus(err), {}, authMessage(err));
  }
  d.log.info("api: logged in mattermost client", { clientID });
  sendResult(res, 200, { bearerToken });
}

// The sessions API serves only the caller's own calls; the admin has none.
async function callerGroup(
  req: IncomingMessage,
  res: ServerResponse,
  d: ApiDeps,
): Promise<string | undefined> {
  const a = await d.auth.check(req.headers.authorization, req.socket.remoteAddress);
  if (!a.ok) d.log.error("api: failed to authenticate", { err: a.error, code: a.code });
  if (!a.ok && a.code !== 401) {
    // Over a limit: say so, so the caller backs off instead of re-keying.
    sendError(res, a.code, a.error);
    return undefined;
  }
  if (!a.ok || a.clientID === "") {
    sendError(res, 401, "unauthorized");
    return undefined;
  }
  return a.clientID;
}

async function sessions(
  req: IncomingMessage,
  res: ServerResponse,
  d: ApiDeps,
  [callID]: string[],
): Promise<void> {
  const group = await callerGroup(req, res, d);
  if (group === undefined) return;
  const r = d.registry.getSessions(group, callID!);
  if (typeof r === "string") return sendError(res, 404, `failed to get session configs: ${r}`);
  sendJSON(res, 200, r.map(sessionJSON));
}

async function session(req: IncomingMessage, res: ServerResponse, d: ApiDeps, [callID, sessionID]: string[]) {
  const group = await callerGroup(req, res, d);
  if (group === undefined) return;
  const r = d.registry.getSession(group, callID!, sessionID!);
  if (typeof r === "string") return sendError(res, 404, `failed to get session config: ${r}`);
  sendJSON(res, 200, sessionJSON(r));
}

// Go field order; Props is a map, so its keys come sorted.
function sessionJSON(c: SessionConfig): unknown {
  const { av1Support, channelID, dcSignaling } = c.Props;
  return {
    GroupID: c.GroupID,
    CallID: c.CallID,
    UserID: c.UserID,
    SessionID: c.SessionID,
    Props: { av1Support, channelID, dcSignaling },
  };
}

async function metrics(_req: IncomingMessage, res: ServerResponse, d: ApiDeps): Promise<void> {
  const { contentType, body } = await d.metrics.render();
  res.writeHead(200, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

// A /ws request without a WebSocket upgrade: authenticated first (as rtcd
// does), then refused the way gorilla/websocket refuses it.
async function wsWithoutUpgrade(req: IncomingMessage, res: ServerResponse, d: ApiDeps): Promise<void> {
  const a = await d.auth.check(req.headers.authorization, req.socket.remoteAddress);
  if (!a.ok) return sendResult(res, a.code, {}, a.error);
  res.setHeader("Sec-Websocket-Version", "13");
  sendError(res, 400, "Bad Request");
}

function bodyFailure(res: ServerResponse, err: unknown): void {
  if (err instanceof BodyError) return sendResult(res, err.status, {}, err.message);
  throw err;
}

// 400 as in rtcd; 429 or 503 when a limit refused the attempt.
function authStatus(err: unknown): number {
  return err instanceof AuthError ? err.status : 400;
}

function authMessage(err: unknown): string {
  if (err instanceof AuthError) return err.message;
  throw err;
}
