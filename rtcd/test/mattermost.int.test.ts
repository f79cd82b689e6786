// The real thing, end to end: a Mattermost server with the Calls plugin,
// pointed at the rtcd under test (ours, then Mattermost's v1.2.6, through
// the same code path), and Calls' own Go client joining through
// Mattermost's WebSocket. See mattermost/stack.ts for what runs.
import { afterAll, afterEach, beforeAll, describe, expect, test, type TestContext } from "vitest";
import type { Impl } from "./support/procs.ts";
import type { Member } from "./mattermost/scenario.ts";
import { joinBurst, leaveAll, runThreeUsers } from "./mattermost/calls.ts";
import { rtcdNeverReceived } from "./mattermost/diagnose.ts";
import { metricShapes, missingShapes } from "./mattermost/metric-shapes.ts";
import { startStack, type Stack } from "./mattermost/stack.ts";

const IMPLS: Impl[] = ["ours", "rtcd"];
// Ours must survive the join burst repeatedly: it once failed 2 runs in 3.
const BURST_RUNS: Record<Impl, number> = { ours: 5, rtcd: 1 };
const shapes = new Map<Impl, Map<string, Set<string>>>();

function printTailsOnFailure(stack: () => Stack | undefined) {
  afterEach((ctx: TestContext) => {
    const s = stack();
    if (ctx.task.result?.state === "fail" && s)
      process.stderr.write(`\n==== log tails (${ctx.task.name})\n${s.tails()}\n`);
  });
}

describe.each(IMPLS)("Mattermost + Calls plugin + Calls client against %s", (impl) => {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack({ impl });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  printTailsOnFailure(() => stack);

  test("the plugin connects with self-registration off, using MM_CALLS_RTCD_CLIENT_ID and MM_CALLS_RTCD_AUTH_KEY", async () => {
    const s = stack!;
    // startStack waited for the plugin's "version compatibility check
    // succeeded"; the rtcd holds its WebSocket under the client ID we gave.
    const metrics = await s.rtcds[0]!.metrics();
    expect(metrics).toMatch(/^rtcd_ws_connections_total\{clientID="mattermost"\} 1$/m);
    const r = await fetch(`${s.rtcds[0]!.url}/register`, {
      method: "POST",
      body: JSON.stringify({ clientID: "intruder", authKey: "x".repeat(40) }),
    });
    expect(r.status, "self-registration is refused").toBeGreaterThanOrEqual(400);
  });

  test("3 users, voice and screen share: tracks arrive and flow, mute/unmute, WebSocket reconnect, leave", async () => {
    await runThreeUsers(stack!);
  });

  test(
    `a join burst of 25 users, 4 unmuted, 1 screen share, ${BURST_RUNS[impl]} run(s): every track named and flowing`,
    { timeout: 150_000 * BURST_RUNS[impl] },
    async () => {
      const s = stack!;
      const members = await s.mm.newUsers(25, `burst`, []);
      for (let run = 0; run < BURST_RUNS[impl]; run++) {
        const channel = await s.mm.newChannel(`burst-${run}`);
        for (const m of members)
          await s.mm.api("POST", `/channels/${channel}/members`, { user_id: m.id }, s.mm.adminToken);
        const ms: Member[] = members.map((m, i) => ({ idx: run * 100 + i, token: m.token, mmUserID: m.id }));
        const result = await joinBurst(s, channel, ms, { unmuted: 4, screen: 1 });
        process.stderr.write(
          JSON.stringify({
            msg: "join burst",
            impl,
            run: run + 1,
            expected: result.expected,
            received: result.received,
            bad: result.bad.length,
            missing: result.missing,
          }) + "\n",
        );
        expect(result.bad, `run ${run + 1}: tracks with an empty or unparseable ID`).toEqual([]);
        // Mattermost's rtcd (pion) sometimes never receives the screen share
        // of a burst (4 runs in 96 here): pion refuses the receiver for
        // it ("RTPReceiver Receive failed ... SSRC", or RTP before the SDP
        // declaring it, "OnTrack will not be fired"), so no one gets it. A
        // difference between the two rtcds (docs/rtcd-compat-notes.md), not
        // a fault of the path under test: for the reference only, and only
        // when rtcd's own log shows exactly that for every missing track,
        // the run is reported instead of failed. Ours has no such exception.
        const rtcdLog = s.rtcds[0]!.proc.logFile;
        if (
          impl === "rtcd" &&
          result.senders.length > 0 &&
          result.senders.every((x) => rtcdNeverReceived(rtcdLog, x.session, x.type, x.from))
        ) {
          process.stderr.write(
            JSON.stringify({
              msg: "known difference: rtcd never received a track",
              run: run + 1,
              senders: result.senders,
            }) + "\n",
          );
        } else
          expect(
            result.received,
            `run ${run + 1}: remote tracks flowing\n${result.diagnosis}\nmissing: ${result.missing.join(", ")}`,
          ).toBe(result.expected);
        await leaveAll(s, channel, ms);
        // Metrics as they stand after the first burst and its 25 leaves.
        // Whether the plugin sends rtcd a "leave" for a user depends on a
        // race in its handleLeave (the client's leave against its RTC
        // connection closing); after the three users' 3 leaves alone, one
        // rtcd had seen a "leave" and the other none, and the shapes
        // differed by rtcd_ws_messages_total{type=leave}.
        if (run === 0) shapes.set(impl, metricShapes(await s.rtcds[0]!.metrics()));
      }
    },
  );
});

// The one known gap, documented in docs/rtcd-compat-notes.md: rtcd times
// each pion WriteRTP call per forwarded packet; with mediasoup the write
// happens inside the worker, where Node cannot time it, so ours declares the
// family and never observes it. The test asserts exactly this set: a new gap
// fails it, and so does closing this one (then the list must go).
const KNOWN_GAPS = [
  "rtcd_rtc_rtp_tracks_writes_time{groupID,le,type=screen}",
  "rtcd_rtc_rtp_tracks_writes_time{groupID,le,type=voice}",
  "rtcd_rtc_rtp_tracks_writes_time{groupID,type=screen}",
  "rtcd_rtc_rtp_tracks_writes_time{groupID,type=voice}",
];

describe("metrics after the join burst", () => {
  test("ours exposes every rtcd_ metric family and label set that Mattermost's rtcd exposes, but the documented gap", () => {
    const theirs = shapes.get("rtcd");
    const ours = shapes.get("ours");
    expect(theirs && ours, "both join bursts ran").toBeTruthy();
    expect(missingShapes(theirs!, ours!)).toEqual(KNOWN_GAPS);
  });
});
