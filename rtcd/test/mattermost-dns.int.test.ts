// Several of our rtcds behind one name, with the real Calls plugin choosing
// among them: it re-resolves the rtcd URL's host every 10 s, places each
// new call on the host with the lowest /system cpu_load, and stops sending
// new calls to a host that left the name (our chart's headless Service
// does exactly this with pod IPs). The name lives in Mattermost's own mount
// namespace (see mattermost/mattermost.ts), so nothing on the machine changes.
import { afterAll, afterEach, beforeAll, describe, expect, test, type TestContext } from "vitest";
import { isEv } from "./mattermost/scenario.ts";
import { RTCD_NAME, startStack, type Stack } from "./mattermost/stack.ts";
import { waitFor, tailOf } from "./mattermost/proc.ts";
import { sessionsOn, type RtcdUnderTest } from "./mattermost/rtcd.ts";

describe("two of our rtcds behind one name, with the real plugin", () => {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack({ impl: "ours", rtcds: 2 });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach((ctx: TestContext) => {
    if (ctx.task.result?.state === "fail" && stack)
      process.stderr.write(`\n==== log tails\n${stack.tails()}\n`);
  });

  test(
    "new calls spread over both; a host leaving the name keeps its calls, new ones go elsewhere",
    { timeout: 240_000 },
    async () => {
      const s = stack!;
      const d = s.driver!;
      const [h0, h1] = s.rtcds as [RtcdUnderTest, RtcdUnderTest];
      const channels: string[] = [];
      for (let i = 0; i < 14; i++) channels.push(await s.mm.newChannel(`dns-${i}`));
      const users = await s.mm.newUsers(16, "dns", channels);
      let next = 0;
      // One call per channel: its first user joins (and so starts it).
      const startCall = async (ch: number) => {
        const idx = next++;
        d.join(idx, users[idx]!.token, channels[ch]!);
        await d.waitFor(`call ${ch} to connect`, isEv("rtc_connected", idx), 60_000);
        return idx;
      };
      // Every call here has one session: sessions on a host are its calls.
      const where = async () => ({ a: await sessionsOn(h0), b: await sessionsOn(h1) });

      // Spread: the plugin sends each new call to the least loaded host, and
      // both report about the same load here, so calls land on both; up to
      // ten calls (all on one host by chance: 1 in 512).
      let ch = 0;
      let onA: { ch: number; idx: number } | undefined;
      for (; ch < 10; ch++) {
        const idx = await startCall(ch);
        const w = await where();
        if (!onA && w.a > 0) onA = { ch, idx };
        if (w.a > 0 && w.b > 0) break;
      }
      const spread = await where();
      expect(spread.a, "calls on the first host").toBeGreaterThan(0);
      expect(spread.b, "calls on the second host").toBeGreaterThan(0);

      // A call with media on h0: a listener joins it and its starter talks.
      const listener = next++;
      d.join(listener, users[listener]!.token, channels[onA!.ch]!);
      await d.waitFor("the listener to connect", isEv("rtc_connected", listener), 60_000);
      d.op(onA!.idx, "unmute");
      const voiceAt = async () => {
        const st = await d.stats();
        const t = (st.get(listener)?.tracks ?? []).find((x) => x.type === "voice");
        return { packets: t?.packets ?? 0, fresh: t ? Date.now() - t.lastAt < 1000 : false };
      };
      await waitFor(
        "voice to flow on the h0 call",
        async () => ((await voiceAt()).fresh ? true : undefined),
        30_000,
      );

      // h0 leaves the name: the plugin flags it at its next resolution.
      s.mm.setHosts({ [RTCD_NAME]: [h1.host] });
      await waitFor(
        "the plugin to flag the host that left the name",
        () => (tailOf(s.mm.pluginLog, 4000).includes(`"flagging host"`) ? true : undefined),
        40_000,
      );
      const before = await where();
      for (let i = 0; i < 3; i++) await startCall(++ch);
      const after = await where();
      // h0 keeps every call it had, and no new one; h1 gets all three.
      expect(after.a, "the flagged host keeps its calls").toBe(before.a);
      expect(after.b - before.b, "new calls go to the host still in the name").toBe(3);
      // ...and its running call still carries media.
      const then = await voiceAt();
      await waitFor(
        "voice to keep flowing on the flagged host's call",
        async () => {
          const now = await voiceAt();
          return now.fresh && now.packets > then.packets + 50 ? true : undefined;
        },
        20_000,
      );
    },
  );
});
