// The media probe against a real rtcd process over loopback: a synthetic call
// carries audio both ways over UDP and over TCP; with UDP to the RTC port
// dropped by a firewall rule (nftables, a table of this test's own, matching
// only this rtcd's port), UDP fails with an ICE timeout while TCP still works,
// and the condition says UDPUnreachable naming the pod.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeICEPort, startRtcd, stopRtcd, type Running } from "@mattermost-rtcd/rtcd/testing/procs";
import { probePod } from "../src/probe/runner.ts";
import { mediaReachable } from "../src/probe/condition.ts";

const admin = randomBytes(32).toString("base64");
const table = `mmrtcd_probe_test_${process.pid}`;
let rtcd: Running;
let icePort: number;

const nft = (script: string) =>
  execFileSync("nft", ["-f", "-"], { input: script, stdio: ["pipe", "ignore", "pipe"] });

beforeAll(async () => {
  icePort = await freeICEPort();
  rtcd = await startRtcd({
    impl: "ours",
    realBinary: "",
    dir: join(mkdtempSync(join(tmpdir(), "media-probe-")), "rtcd"),
    name: "rtcd",
    env: {
      RTCD_API_SECURITY_ENABLEADMIN: "true",
      RTCD_API_SECURITY_ADMINSECRETKEY: admin,
      RTCD_RTC_ICEPORTUDP: String(icePort),
      RTCD_RTC_ICEPORTTCP: String(icePort),
    },
  });
});

afterAll(async () => {
  try {
    nft(`delete table inet ${table}\n`);
  } catch {
    // Not there: the test removed it, or never added it.
  }
  if (rtcd) await stopRtcd(rtcd);
});

describe("media probe", () => {
  it("carries audio both ways over UDP and over TCP", async () => {
    const results = await probePod({ base: rtcd.url, adminKey: admin });
    expect(results.map((r) => [r.transport, r.reason, r.message])).toEqual([
      ["udp", "ok", expect.any(String)],
      ["tcp", "ok", expect.any(String)],
    ]);
    const cond = mediaReachable([{ pod: "rtcd-0", at: new Date().toISOString(), results }]);
    expect(cond).toMatchObject({ status: "True", reason: "AllPodsReachable" });
  });

  it("reports UDPUnreachable while UDP to the RTC port is dropped, TCP still working", async () => {
    nft(
      `table inet ${table} {\n chain input {\n  type filter hook input priority -10; policy accept;\n` +
        `  udp dport ${icePort} drop\n }\n}\n`,
    );
    const results = await probePod({ base: rtcd.url, adminKey: admin, timeoutMs: 5_000 });
    expect(results.map((r) => [r.transport, r.reason])).toEqual([
      ["udp", "ICETimeout"],
      ["tcp", "ok"],
    ]);
    const cond = mediaReachable([{ pod: "rtcd-0", at: new Date().toISOString(), results }]);
    expect(cond).toMatchObject({ status: "False", reason: "UDPUnreachable" });
    expect(cond!.message).toMatch(/rtcd-0.*UDP.*ICETimeout/);

    nft(`delete table inet ${table}\n`);
    const again = await probePod({ base: rtcd.url, adminKey: admin });
    expect(again.map((r) => r.reason)).toEqual(["ok", "ok"]);
  });
});
