// What each part of the real stack decided about a track that did not flow,
// for a failure message: the sender's own op results and what its Calls
// client logged (driver), how many receivers were named the track and how
// many got packets, and the lines the plugin and the rtcd logged about that
// sender. A join burst lost one screen share once in CI (with Mattermost's
// rtcd) and the tails printed then were a few debug lines of unrelated
// sessions; this says where it stopped.
import { readFileSync } from "node:fs";
import type { DriverEvent, UserStats } from "./driver.ts";
import type { Expected, Member } from "./scenario.ts";
import type { Stack } from "./stack.ts";

/** Lines of a log that contain every one of `all` and one of `any`, the last `max` of them. */
export function grepLog(file: string, all: string[], any: string[], max = 6): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => all.every((x) => l.includes(x)) && (any.length === 0 || any.some((x) => l.includes(x))))
    .slice(-max)
    .map((l) => l.slice(0, 400));
}

// Words the two rtcds use about a sender's incoming tracks (rtcd: "received
// unexpected video track", "screen session should not be set"; ours:
// "media: producing" with its type), by the type that is missing.
const RTCD_WORDS: Record<Expected["type"], string[]> = {
  screen: ["screen", "video", "unexpected", "failed", "error"],
  voice: ["voice", "audio", "unexpected", "failed", "error"],
};
// The plugin's: "handleClientMsg failed" (a lock timeout, someone else
// sharing), "dropping ws msg".
const PLUGIN_WORDS = ["screen", "failed", "error", "drop"];

/**
 * One line per sender and type that is missing somewhere: the sender's op
 * results since `from`, receivers named / flowing, then the log lines.
 */
export function diagnoseMissing(
  s: Stack,
  members: Member[],
  missing: Expected[],
  stats: Map<number, UserStats>,
  sessionOf: Map<number, string>,
  senderOf: (r: number, from: string) => number,
  from: number,
): string {
  const d = s.driver!;
  const groups = new Map<string, Expected[]>();
  for (const m of missing) {
    const k = `${m.type} ${m.from}`;
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  const out: string[] = [];
  for (const [k, list] of groups) {
    const { type, from: sender } = list[0]!;
    const receivers = members.filter((x) => x.idx !== sender).length;
    const mine = d.events.slice(from).filter((e: DriverEvent) => e.user === sender);
    const own = mine
      .filter((e) => e.ev === "done" || e.ev === "error")
      .map((e) => `${e.ev} ${String(e["op"] ?? "")}${e["error"] ? `: ${String(e["error"])}` : ""}`);
    // What the Calls client itself logged at warning or above (a lost
    // signaling lock, "dc not connected", a failed negotiation).
    const client = mine
      .filter((e) => e.ev === "client_error" || e.ev === "log")
      .slice(-6)
      .map((e) =>
        JSON.stringify({ ev: e.ev, msg: e["msg"], err: e["err"], fields: e["fields"] }).slice(0, 300),
      );
    let named = 0;
    let flowing = 0;
    for (const r of members) {
      if (r.idx === sender) continue;
      const ts = (stats.get(r.idx)?.tracks ?? []).filter(
        (t) => t.type === type && senderOf(r.idx, t.from) === sender,
      );
      if (ts.length) named++;
      if (ts.some((t) => t.packets > 0)) flowing++;
    }
    const session = sessionOf.get(sender) ?? "?";
    const member = members.find((x) => x.idx === sender);
    // Lines whose subject is the sender's session (not receivers' lines that
    // name its tracks).
    const rtcdLines = s.rtcds.flatMap((r) => [
      ...grepLog(r.proc.logFile, [`"sessionID":"${session}"`], RTCD_WORDS[type]),
      // Mattermost's rtcd logs the announced screen stream without the session.
      ...(type === "screen" ? grepLog(r.proc.logFile, [`screen-${sender}"`], []) : []),
    ]);
    const pluginLines = [
      ...grepLog(s.mm.pluginLog, [session], PLUGIN_WORDS),
      ...(member ? grepLog(s.mm.pluginLog, [member.mmUserID], PLUGIN_WORDS) : []),
    ];
    out.push(
      `${k} (session ${session}): sender's ops [${own.join("; ")}]; named at ${named}/${receivers}, ` +
        `packets at ${flowing}/${receivers}, missing at ${list.length}` +
        `\n  client: ${client.join("\n          ") || "(nothing)"}` +
        `\n  rtcd: ${rtcdLines.join("\n        ") || "(nothing)"}` +
        `\n  plugin: ${[...new Set(pluginLines)].join("\n          ") || "(nothing)"}`,
    );
  }
  return out.join("\n");
}

/**
 * Whether Mattermost's rtcd (pion) never started receiving a sender's track:
 * pion refused it for the session ("RTPReceiver Receive failed unable to
 * find stream for Track with SSRC", or "Incoming unhandled RTP ssrc(..),
 * OnTrack will not be fired": RTP before the SDP that declares it) and rtcd
 * never logged "new track received" for the stream, so no receiver got it.
 * Seen in 4 of 96 join bursts against Mattermost's rtcd, a screen share
 * started the moment media connects; never against ours. The driver
 * names its streams `<type>-<user index>`.
 */
export function rtcdNeverReceived(logFile: string, session: string, type: string, sender: number): boolean {
  const subject = `"sessionID":"${session}"`;
  const refused =
    grepLog(logFile, [subject], ["RTPReceiver Receive failed", "OnTrack will not be fired"], 1).length > 0;
  const fired =
    grepLog(logFile, [subject, '"new track received"', `"streamID":"${type}-${sender}"`], [], 1).length > 0;
  return refused && !fired;
}
