// Waiting in tests: poll for the condition a test needs, with a deadline that
// names what was awaited. A leaf module (imports nothing of ours), so every
// helper can use it without an import cycle.

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what: string;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until fn returns a value other than undefined/false; the timeout names what and the last error. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: last error: ${last.message}` : "";
      throw new Error(`timed out after ${opts.timeoutMs / 1000}s waiting for ${opts.what}${why}`);
    }
    await pause(opts.intervalMs ?? 500);
  }
}

export interface QuietOptions {
  /**
   * Throws when the thing that must not happen has happened; polled during
   * the whole period so a test fails as soon as it does, not at the end.
   */
  check?: () => Promise<void> | void;
  intervalMs?: number;
}

/**
 * For a test that asserts that nothing happens for a while (no restart, no
 * write, no event): lets `ms` pass, running `check` every `intervalMs` and once
 * at the end. This is the only deliberate passage of time in tests; it is not
 * synchronisation, which is always `waitFor` on a condition.
 */
export async function quietFor(ms: number, opts: QuietOptions = {}): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    await opts.check?.();
    const left = end - Date.now();
    if (left <= 0) return;
    await pause(Math.min(left, opts.intervalMs ?? 500));
  }
}
