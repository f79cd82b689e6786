// Responses shaped byte for byte like Go's net/http and encoding/json ones
// rtcd sends: JSON with a trailing newline and HTML characters escaped,
// http.Error's plain text, http.NotFound, ServeMux's path-cleaning redirect.
import type { ServerResponse } from "node:http";

export function goJSON(value: unknown): string {
  return (
    JSON.stringify(value)
      .replace(/</g, "\\u003c")
      .replace(/>/g, "\\u003e")
      .replace(/&/g, "\\u0026")
      .replace(/\u2028/g, "\\u2028")
      .replace(/\u2029/g, "\\u2029") + "\n"
  );
}

export function sendJSON(res: ServerResponse, code: number, value: unknown): void {
  const body = goJSON(value);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

// http.Error.
export function sendError(res: ServerResponse, code: number, text: string): void {
  const body = text + "\n";
  res.writeHead(code, {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

export function notFound(res: ServerResponse): void {
  sendError(res, 404, "404 page not found");
}

// ServeMux's redirect of a non-canonical path (e.g. //version).
export function redirect(res: ServerResponse, location: string): void {
  const body = `<a href="${escapeHTML(location)}">Temporary Redirect</a>.\n\n`;
  res.writeHead(307, {
    "Content-Type": "text/html; charset=utf-8",
    Location: location,
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

function escapeHTML(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" })[c]!,
  );
}

// rtcd's register/unregister/login bodies: a map[string]string with the
// status code as a string and, on failure, "error" (keys sorted, as Go
// encodes maps).
export function sendResult(
  res: ServerResponse,
  code: number,
  fields: Record<string, string>,
  error?: string,
): void {
  const out: Record<string, string> = { ...fields, code: String(code) };
  if (error !== undefined) out["error"] = error;
  const sorted = Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  sendJSON(res, code, sorted);
}

// Go's path.Clean, keeping a trailing slash as ServeMux's cleanPath does.
export function cleanPath(p: string): string {
  if (p === "") return "/";
  if (!p.startsWith("/")) p = "/" + p;
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  let np = "/" + out.join("/");
  if (p.endsWith("/") && np !== "/") np += "/";
  return np;
}
