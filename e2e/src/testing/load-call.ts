// One call of N participants from the Go/pion load generator against one
// rtcd pod, held until the test ends it: real ICE/DTLS/SRTP peers, far
// lighter on this machine than werift peers. Its result (loss, errors) is
// what the test checks once the call has ended.
import { runGoLoad } from "@mattermost-rtcd/rtcd/bench/go-load";
import { RTCD_AUTH_KEY, registerClient } from "./real-node.ts";

type LoadOutcome = Awaited<ReturnType<typeof runGoLoad>>;

export class LoadCall {
  readonly ip: string;
  readonly users: number;
  /** Resolves once every participant receives every stream (the generator's window opened). */
  readonly flowing: Promise<void>;
  private readonly abort = new AbortController();
  private readonly outcome: Promise<LoadOutcome>;

  private constructor(
    ip: string,
    users: number,
    run: (opened: () => void, stop: AbortSignal) => Promise<LoadOutcome>,
  ) {
    this.ip = ip;
    this.users = users;
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    this.outcome = run(opened, this.abort.signal);
    // When setup fails the window never opens: flowing then rejects with the generator's error.
    this.flowing = Promise.race([open, this.outcome.then(() => undefined)]);
    // Marked handled: the error reaches whoever awaits flowing or end(), never the process.
    this.flowing.catch(() => undefined);
  }

  /** Starts a call of `users` (2 of them sending audio) under its own registered client. */
  static async start(ip: string, apiPort: number, name: string, users: number): Promise<LoadCall> {
    const clientID = `loadgen-${name}`;
    const url = await registerClient(ip, apiPort, clientID);
    return new LoadCall(ip, users, (opened, stop) =>
      runGoLoad({
        url,
        clientID,
        authKey: RTCD_AUTH_KEY,
        prefix: name,
        calls: 1,
        users,
        unmuted: Math.min(2, users),
        screen: false,
        // Held until end(): the generator stops on SIGTERM.
        durationSeconds: 3600,
        onWindowStart: opened,
        onWindowEnd: () => undefined,
        stop,
      }),
    );
  }

  /** Ends the call (every participant leaves) and returns the generator's result. */
  async end(): Promise<LoadOutcome> {
    this.abort.abort();
    return this.outcome;
  }
}
