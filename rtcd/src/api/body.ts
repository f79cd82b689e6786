// Request bodies for register/unregister/login, decoded as rtcd decodes them:
// json.NewDecoder(body).Decode(&map[string]string{}) reads the first JSON
// value only (trailing bytes are ignored), accepts an object of strings or
// null, and fails with Go's messages for the common mistakes.
import type { IncomingMessage } from "node:http";

// Far above any real body; rtcd has no limit but its 30 s read timeout.
export const MAX_BODY_BYTES = 64 * 1024;

export class BodyError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyError(`http: request body too large (limit ${limit} bytes)`, 413);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function decodeStringMap(body: Buffer): Record<string, string> {
  const text = body.toString("utf8");
  const start = text.search(/[^ \t\r\n]/);
  if (start < 0) throw new BodyError("EOF");
  const end = endOfFirstValue(text, start);
  if (end === undefined) throw new BodyError("unexpected EOF");
  let value: unknown;
  try {
    value = JSON.parse(text.slice(start, end));
  } catch {
    throw new BodyError(`invalid character ${JSON.stringify(text[start])} looking for beginning of value`);
  }
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new BodyError(`json: cannot unmarshal ${goKind(value)} into Go value of type map[string]string`);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let typeError: string | undefined;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null) continue;
    if (typeof v === "string") out[k] = v;
    else typeError ??= `json: cannot unmarshal ${goKind(v)} into Go value of type string`;
  }
  if (typeError) throw new BodyError(typeError);
  return out;
}

function goKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}

// Index just past the first complete JSON value starting at `i`, or
// undefined if the text ends first. Only finds the extent; JSON.parse judges
// validity.
function endOfFirstValue(s: string, i: number): number | undefined {
  const c = s[i];
  if (c === "{" || c === "[") {
    let depth = 0;
    let inStr = false;
    for (let j = i; j < s.length; j++) {
      const ch = s[j];
      if (inStr) {
        if (ch === "\\") j++;
        else if (ch === '"') inStr = false;
      } else if (ch === '"') inStr = true;
      else if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        if (--depth === 0) return j + 1;
      }
    }
    return undefined;
  }
  if (c === '"') {
    for (let j = i + 1; j < s.length; j++) {
      if (s[j] === "\\") j++;
      else if (s[j] === '"') return j + 1;
    }
    return undefined;
  }
  const m = /^[^\s,{}[\]":]+/.exec(s.slice(i));
  return i + (m ? m[0].length : 1);
}
