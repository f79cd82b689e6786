// Call scenarios over the driver: who joins, who talks, who shares, and
// what each receiver must then get. Shared by the integration tests and
// their assertions.
import type { Driver, DriverEvent, UserStats } from "./driver.ts";
import { waitFor } from "./proc.ts";

export interface Member {
  /** The driver's user index (unique per driver). */
  idx: number;
  token: string;
  mmUserID: string;
}

export interface Expected {
  receiver: number;
  type: "voice" | "screen";
  /** Index of the sender. */
  from: number;
}

/** A named pause in which nothing is expected to happen (never a synchronisation). */
export function quietFor(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function isEv(ev: string, user?: number): (e: DriverEvent) => boolean {
  return (e) => e.ev === ev && (user === undefined || e.user === user);
}

/** Every remote track each receiver should get. */
export function expectedTracks(members: Member[], unmuted: number[], screen: number[]): Expected[] {
  const out: Expected[] = [];
  for (const r of members) {
    for (const s of unmuted) if (s !== r.idx) out.push({ receiver: r.idx, type: "voice", from: s });
    for (const s of screen) if (s !== r.idx) out.push({ receiver: r.idx, type: "screen", from: s });
  }
  return out;
}

/** Maps a Mattermost session's sender ID in a track ID to our user index. */
export function senderIndex(
  stats: Map<number, UserStats>,
  sessionOf: Map<string, number>,
  id: string,
): number {
  void stats;
  return sessionOf.get(id) ?? -1;
}

/** Track IDs a client was given that do not parse as <type>_<session>_<random>. */
export function badTrackIDs(d: Driver): DriverEvent[] {
  return d.events.filter(
    (e) =>
      e.ev === "track_error" ||
      (e.ev === "track_named" && !/^[a-z-]+_[A-Za-z0-9]+_[A-Za-z0-9]+$/.test(String(e["id"]))),
  );
}

/**
 * Waits until every expected track has arrived at its receiver with packets
 * flowing (more than `minPackets`, the last one under a second old).
 * Returns the last stats, or throws listing what is missing.
 */
export async function waitForFlow(
  d: Driver,
  expected: Expected[],
  senderOf: (receiver: number, from: string) => number,
  timeoutMs: number,
  minPackets = 10,
): Promise<Map<number, UserStats>> {
  let last = new Map<number, UserStats>();
  let missing: Expected[] = expected;
  try {
    return await waitFor(
      "every expected track to flow",
      async () => {
        last = await d.stats();
        const now = Date.now();
        missing = expected.filter((x) => {
          const tracks = last.get(x.receiver)?.tracks ?? [];
          return !tracks.some(
            (t) =>
              t.type === x.type &&
              senderOf(x.receiver, t.from) === x.from &&
              t.packets >= minPackets &&
              now - t.lastAt < 1000,
          );
        });
        return missing.length === 0 ? last : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    const sample = missing.slice(0, 10).map((m) => `${m.type} ${m.from}->${m.receiver}`);
    throw new Error(
      `${missing.length} of ${expected.length} tracks not flowing, e.g. ${sample.join(", ")}\n${String(err)}`,
      { cause: err },
    );
  }
}

/** Packets received so far by `receiver` from `from`'s track of `type`. */
export function packetsFrom(
  stats: Map<number, UserStats>,
  receiver: number,
  type: string,
  match: (from: string) => boolean,
): number {
  return (stats.get(receiver)?.tracks ?? [])
    .filter((t) => t.type === type && match(t.from))
    .reduce((n, t) => n + t.packets, 0);
}
