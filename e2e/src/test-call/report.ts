// What `npm run test-call` prints and decides: per participant, what it sent
// and, per incoming track, what it received. Pure, so it is unit-tested; the
// call itself is in test-call.ts.

export interface TrackReceipt {
  /** rtcd's track ID (it names the sender's session: voice_<session>_...). */
  trackID: string;
  /** The participant whose session the track ID names, if it names one. */
  from: string | undefined;
  packets: number;
  /** ms from the first packet sent in the call to this track's first packet here. */
  firstAfterMs: number | undefined;
}

export interface ParticipantResult {
  name: string;
  sent: number;
  /** ICE/DTLS done within the deadline. */
  connected: boolean;
  tracks: TrackReceipt[];
  /** Closes or errors rtcd or werift reported for this session. */
  errors: string[];
}

export interface CallReport {
  target: string;
  seconds: number;
  participants: ParticipantResult[];
}

/** Below this many packets a track is not counted as heard: a few stray packets are not a call. */
export const MIN_PACKETS = 25;

export interface Verdict {
  ok: boolean;
  problems: string[];
}

/** Everyone connected and heard each other participant's audio, by name. */
export function judge(r: CallReport): Verdict {
  const problems: string[] = [];
  for (const p of r.participants) {
    if (!p.connected) problems.push(`${p.name} did not connect (ICE/DTLS)`);
    const heard = new Set(p.tracks.filter((t) => t.packets >= MIN_PACKETS).map((t) => t.from));
    const missed = r.participants.filter((q) => q !== p && !heard.has(q.name)).map((q) => q.name);
    if (missed.length)
      problems.push(`${p.name} did not hear ${missed.join(", ")} (at least ${MIN_PACKETS} packets each)`);
    for (const e of p.errors) problems.push(`${p.name}: ${e}`);
  }
  return { ok: problems.length === 0, problems };
}

export function formatReport(r: CallReport): string {
  const lines = [
    `test call on ${r.target}: ${r.participants.length} participants, ${r.seconds} s of audio each`,
  ];
  for (const p of r.participants) {
    lines.push(
      `  ${p.name.padEnd(8)} ${p.connected ? "connected" : "NOT connected"}, sent ${p.sent} packets`,
    );
    if (!p.tracks.length) lines.push("           received nothing");
    for (const t of p.tracks) {
      const first = t.firstAfterMs === undefined ? "" : `, first after ${t.firstAfterMs} ms`;
      lines.push(`           heard ${t.from ?? `track ${t.trackID}`}: ${t.packets} packets${first}`);
    }
  }
  const v = judge(r);
  lines.push(
    v.ok ? "OK: every participant heard every other one" : "FAILED:",
    ...v.problems.map((p) => `  - ${p}`),
  );
  return lines.join("\n");
}
