// A short call through one rtcd with real WebRTC peers (werift), as a
// newcomer's proof that media flows: a throwaway client is registered with
// the admin key, N participants join one call and each sends Opus audio, and
// each one's receipts are reported per incoming track. The client is removed
// afterwards, so nothing is left on the rtcd.
import { randomBytes } from "node:crypto";
import { ensureRegistered, unregister } from "@mattermost-rtcd/operator/rtcd-admin";
import { Peer, PluginConn, until } from "@mattermost-rtcd/rtcd/testing/rtc-peer";
import { judge, type CallReport, type ParticipantResult } from "./report.ts";

const NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
export const MAX_PARTICIPANTS = NAMES.length;

export interface TestCallOptions {
  /** rtcd's API, e.g. http://10.0.0.5:8045. */
  base: string;
  adminKey: string;
  participants: number;
  /** How long each participant sends audio. */
  seconds: number;
  /** For ICE and DTLS per participant. */
  connectTimeoutMs?: number;
}

export class TestCall {
  private readonly opts: TestCallOptions;
  private readonly id = `test-call-${randomBytes(4).toString("hex")}`;
  private conn: PluginConn | undefined;
  private readonly peers: { name: string; peer: Peer; connected: boolean }[] = [];

  private constructor(opts: TestCallOptions) {
    if (opts.participants < 2 || opts.participants > MAX_PARTICIPANTS)
      throw new Error(`participants must be 2..${MAX_PARTICIPANTS}, got ${opts.participants}`);
    this.opts = opts;
  }

  /** Makes the call, always cleans up, and reports what each participant received. */
  static async run(opts: TestCallOptions): Promise<CallReport> {
    const call = new TestCall(opts);
    try {
      return await call.make();
    } finally {
      await call.close();
    }
  }

  private async make(): Promise<CallReport> {
    const { base, adminKey, participants, seconds } = this.opts;
    const authKey = randomBytes(24).toString("hex");
    await ensureRegistered(base, { clientID: this.id, authKey }, adminKey);
    this.conn = await PluginConn.connect(base, this.id, authKey);
    for (const name of NAMES.slice(0, participants)) {
      const peer = new Peer(this.conn, this.id, `${this.id}-${name}`);
      this.peers.push({ name, peer, connected: false });
      peer.join();
      await peer.offer({ send: true });
    }
    await Promise.all(
      this.peers.map(async (p) => {
        p.connected = await p.peer.connected(this.opts.connectTimeoutMs ?? 20_000).then(
          () => true,
          () => false,
        );
      }),
    );
    const t0 = Date.now();
    for (const p of this.peers) if (p.connected) p.peer.startAudio();
    // The call lasts `seconds`: the length the user asked for, not a wait for
    // something to happen. Whoever has not heard everyone by then gets up to
    // 10 s more, and the report says who still had not.
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const report = () => this.report(t0);
    await until("every participant to hear every other", () => judge(report()).ok, 10_000).catch(() => {});
    return report();
  }

  private report(t0: number): CallReport {
    const results: ParticipantResult[] = this.peers.map(({ name, peer, connected }) => {
      const byTrack = new Map<string, { packets: number; first: number }>();
      for (const r of peer.received) {
        const t = byTrack.get(r.trackID) ?? { packets: 0, first: r.at };
        t.packets++;
        t.first = Math.min(t.first, r.at);
        byTrack.set(r.trackID, t);
      }
      const errors = [...peer.errors];
      if (peer.closed) errors.push("rtcd closed the session");
      return {
        name,
        sent: peer.sent,
        connected,
        tracks: [...byTrack].map(([trackID, t]) => ({
          trackID,
          from: this.peers.find((q) => trackID.includes(q.peer.sessionID))?.name,
          packets: t.packets,
          firstAfterMs: t.first - t0,
        })),
        errors,
      };
    });
    return { target: this.opts.base, seconds: this.opts.seconds, participants: results };
  }

  private async close(): Promise<void> {
    for (const { peer } of this.peers) {
      peer.stopAudio();
      peer.leave();
      await peer.close();
    }
    this.conn?.close();
    await unregister(this.opts.base, this.id, this.opts.adminKey).catch((err: unknown) => {
      // Not a failure of the call: say it, and leave the exit status to what media did.
      process.stderr.write(`[test-call] could not remove client ${this.id}: ${String(err)}\n`);
    });
  }
}
