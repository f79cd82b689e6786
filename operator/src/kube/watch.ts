// One watch request: the API server's stream of newline-separated JSON
// events, handed to a callback as they arrive.
import { fetch, type Dispatcher } from "undici";
import { apiError } from "./errors.ts";

export interface WatchEvent<T = unknown> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export interface WatchHandle {
  /** Ends the watch; `done` then resolves. */
  abort(): void;
  /**
   * Resolves when the stream ends: the server closed it, it was aborted, or
   * nothing arrived for the inactivity timeout (`true` then). Rejects on an
   * HTTP error (a KubeApiError, 410 Gone included), a broken connection, a
   * line that is not JSON, or a callback that threw.
   */
  done: Promise<boolean>;
}

export interface WatchRequest {
  url: URL;
  headers: Record<string, string>;
  dispatcher: Dispatcher;
  /**
   * No headers, or no byte of the stream, for this long ends the watch. The
   * caller resumes from its last resourceVersion: a silent connection may be
   * a dead one (a partition leaves no RST), and resuming loses nothing.
   */
  inactivityMs: number;
}

export function openWatch<T>(req: WatchRequest, onEvent: (ev: WatchEvent<T>) => void): WatchHandle {
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, req.inactivityMs);
    timer.unref();
  };
  const run = async (): Promise<boolean> => {
    arm();
    try {
      const res = await fetch(req.url, {
        headers: req.headers,
        dispatcher: req.dispatcher,
        signal: controller.signal,
      });
      if (res.status !== 200) throw apiError("GET", req.url.pathname, res.status, await res.text());
      if (!res.body) return false;
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of res.body) {
        arm();
        pending += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (!line) continue;
          let ev: WatchEvent<T>;
          try {
            ev = JSON.parse(line) as WatchEvent<T>;
          } catch {
            throw new Error(`watch ${req.url.pathname}: an event that is not JSON (${line.length} bytes)`);
          }
          onEvent(ev);
          // The callback may have ended the watch (410 Gone): nothing after that counts.
          if (controller.signal.aborted) return timedOut;
        }
      }
      return false;
    } catch (err) {
      if (controller.signal.aborted) return timedOut;
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      controller.abort();
    }
  };
  return { abort: () => controller.abort(), done: run() };
}
