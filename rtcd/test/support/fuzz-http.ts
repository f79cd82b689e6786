// HTTP request generators for the fuzz test, and which requests a client
// without credentials may legitimately get a non-4xx answer for.
import { cleanPath } from "../../src/api/respond.ts";
import { randomValue, type Rng } from "./fuzz-gen.ts";

const ROUTES = [
  "/version",
  "/system",
  "/register",
  "/unregister",
  "/login",
  "/calls/x/sessions",
  "/calls/x/sessions/y",
  "/metrics",
  "/ws",
  "/healthz",
  "/readyz",
];
export const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

export function randomPath(r: Rng): string {
  const x = r.next();
  if (x < 0.6) return r.pick(ROUTES);
  if (x < 0.7) return r.pick(ROUTES) + "?" + encodeURIComponent(r.string(20));
  if (x < 0.8)
    return r.pick([
      "//version",
      "/calls/../login",
      "/calls/%zz/sessions",
      "/calls/a%2Fb/sessions",
      "/version/",
      "/./system",
    ]);
  return "/" + Array.from({ length: 1 + r.int(4) }, () => encodeURIComponent(r.string(8))).join("/");
}

export function randomAuth(r: Rng, token: string): string | undefined {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  switch (r.int(7)) {
    case 0:
      return undefined;
    case 1:
      return `Basic ${b64(`${r.ascii(10)}:${r.ascii(40)}`)}`;
    case 2:
      return `Basic ${b64(`:${r.ascii(20)}`)}`;
    case 3:
      return `Bearer ${r.ascii(32)}`;
    case 4:
      return `Basic ${r.ascii(30)}`;
    case 5:
      return r.ascii(40);
    default:
      return `Bearer ${token.slice(0, 31)}X`;
  }
}

export function randomBody(r: Rng): Buffer {
  switch (r.int(6)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return Buffer.from(r.bytes(r.int(2000)));
    case 2:
      return Buffer.from(
        JSON.stringify(randomValue(r), (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)) ?? "null",
      );
    case 3: {
      const s = JSON.stringify({ clientID: r.string(70), authKey: r.string(80) });
      return Buffer.from(s.slice(0, r.int(s.length + 1)));
    }
    case 4:
      return Buffer.from(JSON.stringify({ clientID: r.string(10), authKey: r.string(40), extra: r.int(5) }));
    default:
      return Buffer.alloc(r.chance(0.5) ? 70_000 : 65_536, 0x20);
  }
}

// What a well-behaved client may get 2xx for without credentials.
export function isGood(method: string, path: string): boolean {
  const p = path.split("?")[0]!;
  if (p === "/metrics") return true;
  return (
    (method === "GET" || method === "HEAD") && ["/version", "/system", "/healthz", "/readyz"].includes(p)
  );
}

export function nonCanonical(path: string): boolean {
  const p = path.split("?")[0]!;
  try {
    const decoded = "/" + p.slice(1).split("/").map(decodeURIComponent).join("/");
    return cleanPath(decoded) !== decoded;
  } catch {
    return false;
  }
}
