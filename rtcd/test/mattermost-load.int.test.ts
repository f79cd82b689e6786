// A loaded host gets fewer new calls, with the real Calls plugin choosing:
// it asks every host's /system for each new call and takes the lowest
// cpu_load. Two of our rtcds behind one name, each pinned to its own CPU (as
// a pod of the kubelet's static CPU manager is); a process spinning on the
// first one's CPU is the load (a busy neighbour, or the host's own work).
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { afterAll, afterEach, beforeAll, describe, expect, test, type TestContext } from "vitest";
import { nodeBin } from "./support/procs.ts";
import { isEv } from "./mattermost/scenario.ts";
import { startStack, type Stack } from "./mattermost/stack.ts";
import { waitFor } from "./mattermost/proc.ts";
import { sessionsOn, type RtcdUnderTest } from "./mattermost/rtcd.ts";

describe("a loaded host, with the real plugin", () => {
  let stack: Stack | undefined;
  let burner: ChildProcess | undefined;
  beforeAll(async () => {
    stack = await startStack({ impl: "ours", rtcds: 2, rtcdCPUs: ["0", "1"] });
  });
  afterAll(async () => {
    burner?.kill("SIGKILL");
    await stack?.stop();
  });
  afterEach((ctx: TestContext) => {
    if (ctx.task.result?.state === "fail" && stack)
      process.stderr.write(`\n==== log tails\n${stack.tails()}\n`);
  });

  // Two CPUs are the least for one busy and one idle: CI and these machines have them.
  test.skipIf(availableParallelism() < 2)(
    "gets fewer new calls than an idle one",
    { timeout: 180_000 },
    async () => {
      const s = stack!;
      const d = s.driver!;
      const [h0, h1] = s.rtcds as [RtcdUnderTest, RtcdUnderTest];
      const CALLS = 6;
      const channels: string[] = [];
      for (let i = 0; i < CALLS; i++) channels.push(await s.mm.newChannel(`load-${i}`));
      const users = await s.mm.newUsers(CALLS, "load", channels);

      burner = spawn("taskset", ["-c", "0", nodeBin(), "-e", "for (;;) {}"], { stdio: "ignore" });
      // Each host's own answer must show the load before any call is placed.
      let last = { loaded: 0, idle: 0 };
      const loads = async () => ({
        loaded: (await h0.system()).cpu_load,
        idle: (await h1.system()).cpu_load,
      });
      await waitFor(
        "the host on the busy CPU to answer at least 10x the other's cpu_load",
        async () => {
          last = await loads();
          return last.idle > 0 && last.loaded >= 10 * last.idle ? true : undefined;
        },
        20_000,
        () => `last answers: ${JSON.stringify(last)}`,
      );

      // One call per channel, one after the other, as users start them.
      const seen: { loaded: number; idle: number }[] = [];
      for (let i = 0; i < CALLS; i++) {
        seen.push(await loads());
        d.join(i, users[i]!.token, channels[i]!);
        await d.waitFor(`call ${i} to connect`, isEv("rtc_connected", i), 60_000);
      }
      const onLoaded = await sessionsOn(h0);
      const onIdle = await sessionsOn(h1);
      const why = `calls on the loaded host ${onLoaded}, on the idle one ${onIdle}; answers before each call ${JSON.stringify(seen)}`;
      process.stderr.write(JSON.stringify({ msg: "placement under load", onLoaded, onIdle, seen }) + "\n");
      expect(onLoaded + onIdle, why).toBe(CALLS);
      expect(onLoaded, why).toBeLessThan(onIdle);
      // Measured here: the loaded host answers 55-150, the idle one 1.2-2.5
      // rising to about 20 as it takes the calls (1.56x per call in the last
      // 5 s), and every run put all six on the idle one. At most one allows
      // for a loaded sample at the low end meeting the idle one's jitter.
      expect(onLoaded, why).toBeLessThanOrEqual(1);
    },
  );
});
