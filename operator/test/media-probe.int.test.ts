// The media probe against a real rtcd process over loopback: a synthetic call
// carries audio both ways over UDP and over TCP; with UDP to the RTC port
// dropped by a firewall rule (nftables, a table of this test's own, matching
// only this rtcd's port), UDP fails with an ICE timeout while TCP still works,
// and the condition says UDPUnreachable naming the pod. And through a relay
// on loopback that rtcd announces by its port override, 150 ms each way.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeICEPort, startRtcd, stopRtcd, type Running } from "@mattermost-rtcd/rtcd/testing/procs";
import { ensureRegistered } from "../src/controller/rtcd-admin.ts";
import { mediaCall } from "../src/probe/media-call.ts";
import { probePod } from "../src/probe/runner.ts";
import { mediaReachable } from "../src/probe/condition.ts";
import { LatencyRelay } from "./latency-relay.ts";

const admin = randomBytes(32).toString("base64");
const table = `mmrtcd_probe_test_${process.pid}`;
let rtcd: Running;
let icePort: number;

const nft = (script: string) =>
  execFileSync("nft", ["-f", "-"], { input: script, stdio: ["pipe", "ignore", "pipe"] });

// Our rtcd on loopback with the admin API (the probe registers its client
// with the admin key), its RTC port chosen by the test.
function startAdminRtcd(name: string, icePort: number, env: Record<string, string> = {}): Promise<Running> {
  return startRtcd({
    impl: "ours",
    realBinary: "",
    dir: join(mkdtempSync(join(tmpdir(), `media-probe-${name}-`)), "rtcd"),
    name,
    env: {
      RTCD_API_SECURITY_ENABLEADMIN: "true",
      RTCD_API_SECURITY_ADMINSECRETKEY: admin,
      RTCD_RTC_ICEPORTUDP: String(icePort),
      RTCD_RTC_ICEPORTTCP: String(icePort),
      ...env,
    },
  });
}

beforeAll(async () => {
  icePort = await freeICEPort();
  rtcd = await startAdminRtcd("rtcd", icePort);
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
    expect(
      results.map((r) => [r.transport, r.reason]),
      JSON.stringify(results),
    ).toEqual([
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

describe("media probe over a long path", () => {
  let far: Running;
  let relay: LatencyRelay;

  beforeAll(async () => {
    const port = await freeICEPort();
    relay = await LatencyRelay.start({ address: "127.0.0.1", port }, 150);
    // rtcd on loopback only (startRtcd's binding), announcing the relay's
    // port: the one way in.
    far = await startAdminRtcd("rtcd-far", port, { RTCD_RTC_ICEHOSTPORTOVERRIDE: `127.0.0.1/${relay.port}` });
  });

  afterAll(async () => {
    relay?.close();
    if (far) await stopRtcd(far);
  });

  // rtcd announces the relay's port (ice_host_port_override: mediasoup
  // cannot announce a port other than its own, so ours rewrites the
  // candidates; before, the port override was dropped and NodePort clients
  // were told the container's port). With 300 ms round trips mediasoup's DTLS
  // retransmits every flight (after 100 ms) before the answer can arrive.
  it("carries audio both ways over UDP with 150 ms each way", async () => {
    const authKey = randomBytes(24).toString("base64url");
    await ensureRegistered(far.url, { clientID: "probe-far", authKey }, admin);
    const rounds = [];
    for (let i = 0; i < 3; i++) {
      rounds.push(
        await mediaCall({
          base: far.url,
          clientID: "probe-far",
          authKey,
          transport: "udp",
          timeoutMs: 20_000,
        }),
      );
    }
    // rtcd announced the relay's port (ice_host_port_override), so the
    // calls' ICE flows, two per call, came through it.
    expect(relay.clients, "ICE flows through the relay").toBeGreaterThanOrEqual(2 * rounds.length);
    // A failed round carries its timeline: when each session got its SDP,
    // connected ICE and DTLS, and sent and received its first packets.
    expect(rounds.map((r) => `${r.reason}: ${r.message}${r.ok ? "" : ` [${r.steps}]`}`)).toEqual(
      rounds.map(() => expect.stringMatching(/^ok: /)),
    );
  });
});
