// Errors of requests to the API server, shared by requests (kube-client.ts)
// and watches (watch.ts).

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly details: unknown;
  constructor(status: number, reason: string, message: string, details?: unknown) {
    super(message);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
    this.details = details;
  }
}

/** The API server did not answer (headers and body) within the request's timeout. */
export class KubeTimeoutError extends Error {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(message);
    this.name = "KubeTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** A Status body (or anything else) of a failed response as a KubeApiError. */
export function apiError(method: string, path: string, status: number, text: string): KubeApiError {
  let s: { reason?: string; message?: string; details?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null) s = parsed as typeof s;
  } catch {
    s = { message: text.slice(0, 500) || undefined };
  }
  return new KubeApiError(
    status,
    s.reason ?? String(status),
    s.message ?? `${method} ${path}: HTTP ${status}`,
    s.details,
  );
}
