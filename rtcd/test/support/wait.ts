// Waiting in tests: for a condition, with a deadline, or deliberately for
// nothing to happen. Nothing here waits for a fixed time to let something
// finish: a test that needs X waits for X.

/**
 * Polls `fn` until it holds. On timeout the error names what was awaited and
 * carries `detail()` (what the test knows about why it did not happen), so a
 * failure explains itself instead of just saying "timed out".
 */
export async function until(
  what: string,
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  detail?: () => string | Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) {
      const more = detail
        ? `\n${await Promise.resolve()
            .then(detail)
            .catch((e: unknown) => `(detail failed: ${String(e)})`)}`
        : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${more}`);
    }
    await pause(25);
  }
}

/**
 * A deliberate wait during which the test expects nothing to happen (no
 * message, no packet, no state change): the assertions after it check that
 * it did not. `why` says what must stay quiet; it is there for the reader.
 */
export function quietFor(ms: number, why: string): Promise<void> {
  void why;
  return pause(ms);
}

/**
 * A condition for `until`: nothing has arrived for `ms`, where `last()` is
 * when the newest thing arrived (undefined: nothing yet). Used to wait for a
 * stream to stop (after a mute, a leave) before checking it stays stopped.
 */
export function silentFor(ms: number, last: () => number | undefined): () => boolean {
  return () => {
    const t = last();
    return t === undefined || Date.now() - t >= ms;
  };
}

/** Gives up `promise` after `ms`, resolving to `onTimeout` instead. */
export function within<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<U>((r) => (timer = setTimeout(() => r(onTimeout), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
