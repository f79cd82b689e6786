// Call scenarios with the Calls client's own WebRTC code (`RTCPeer` of
// @mattermost/calls-common, on werift: support/calls-client.ts), signaling
// relayed the way the Calls plugin relays it, against Mattermost's rtcd
// v1.2.6 and ours, both as processes on loopback. The scenarios are the
// contract: the same assertions hold for both.
import { OpusDecoder } from "opus-decoder";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CallsClient } from "./support/calls-client.ts";
import { stopRtcd, type Impl, type Running } from "./support/procs.ts";
import { startForPlugin } from "./support/plugin-rtcd.ts";
import { PluginConn } from "./support/rtc-peer.ts";
import { quietFor, silentFor, until } from "./support/wait.ts";

const KEY = "c".repeat(40);

// Packets at `to` that came from `from`'s microphone.
function from(to: CallsClient, fromID: string): number {
  return to.received.filter((p) => p.streamID === fromID).length;
}

// When the newest packet from `fromID` reached `to`.
function lastFrom(to: CallsClient, fromID: string): number | undefined {
  return to.received.findLast((p) => p.streamID === fromID)?.at;
}

describe.each<Impl>(["rtcd", "ours"])("Calls client (RTCPeer) against %s", (impl) => {
  let r: Running;
  let conn: PluginConn;
  const clients: CallsClient[] = [];
  let decoder: OpusDecoder;

  async function sessionStatus(callID: string, sessionID: string): Promise<number> {
    const res = await fetch(`${r.url}/calls/${callID}/sessions/${sessionID}`, {
      headers: { authorization: `Basic ${Buffer.from(`plugin:${KEY}`).toString("base64")}` },
    });
    await res.text();
    return res.status;
  }

  function client(callID: string, sessionID: string): CallsClient {
    const c = new CallsClient(conn, callID, sessionID);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    ({ r, conn } = await startForPlugin(impl, `client-${impl}`, KEY));
    decoder = new OpusDecoder({ channels: 2 });
    await decoder.ready;
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    decoder?.free();
    conn?.close();
    if (r) await stopRtcd(r);
  });

  test("two participants: connected, calls-dc ping/pong, opus both ways with rtcd's IDs", async () => {
    const a = client("call2", "sessA");
    const b = client("call2", "sessB");
    await a.join();
    await b.join();
    await until("both connected", () => a.connected && b.connected, 15_000);
    a.startAudio();
    b.startAudio();
    await until("40 packets each way", () => from(b, "sessA") >= 40 && from(a, "sessB") >= 40, 15_000);
    for (const [to, sender] of [
      [b, "sessA"],
      [a, "sessB"],
    ] as const) {
      const pkts = to.received.filter((p) => p.streamID === sender);
      expect(new Set(pkts.map((p) => p.payloadType))).toEqual(new Set([111]));
      // Real libopus decodes every forwarded payload into a 20 ms frame.
      for (const p of pkts.slice(0, 40)) {
        const out = decoder.decodeFrame(p.payload);
        expect(out.errors).toEqual([]);
        expect(out.samplesDecoded).toBe(960);
      }
      const t = to.tracks.find((x) => x.streamID === sender);
      expect(t?.kind).toBe("audio");
      expect(t?.trackID).toMatch(new RegExp(`^voice_${sender}_[A-Za-z0-9]+$`));
    }
    // RTCPeer pings every second on calls-dc and measures the "pong".
    await until("RTT from calls-dc pongs", () => a.rtt() > 0 && b.rtt() > 0, 10_000);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  test("VoiceOn while A speaks, VoiceOff after", async () => {
    const [a] = clients as [CallsClient];
    const vad = () => conn.vad.filter((v) => v.sessionID === "sessA").map((v) => v.type);
    a.level = 10;
    await until("VoiceOn", () => vad().includes(7), 15_000);
    a.level = 127;
    await until("VoiceOff", () => vad().lastIndexOf(8) > vad().lastIndexOf(7), 15_000);
  });

  test("mute stops forwarding, unmute resumes it", async () => {
    const [a, b] = clients as [CallsClient, CallsClient];
    a.mute(true);
    await until(
      "B hears nothing from muted A",
      silentFor(200, () => lastFrom(b, "sessA")),
    );
    const n = from(b, "sessA");
    const sent = a.sent;
    await quietFor(800, "A stays muted: nothing forwarded to B");
    expect(a.sent - sent).toBeGreaterThan(20); // A kept sending
    expect(from(b, "sessA") - n).toBeLessThanOrEqual(1);
    a.mute(false);
    const m = from(b, "sessA");
    await until("packets after unmute", () => from(b, "sessA") >= m + 20);
  });

  test("WebSocket reconnect keeps the sessions: a newcomer still reaches them", async () => {
    const [a, b] = clients as [CallsClient, CallsClient];
    conn.close();
    await until("the old WebSocket closed", () => conn.ws.readyState === conn.ws.CLOSED);
    conn = await PluginConn.connect(r.url, "plugin", KEY);
    for (const c of [a, b]) {
      c.attach(conn);
      conn.send("reconnect", { sessionID: c.sessionID });
    }
    // Media never went through the WebSocket: it kept flowing.
    const n = from(b, "sessA");
    await until("A's audio at B after the reconnect", () => from(b, "sessA") >= n + 20);
    // Signaling goes over the new connection: C's track is offered to both.
    const c = client("call2", "sessC");
    await c.join();
    await until("C connected", () => c.connected, 15_000);
    c.startAudio();
    await until("C's audio at A and B", () => from(a, "sessC") >= 20 && from(b, "sessC") >= 20, 15_000);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  test("leave ends the session; the others stop receiving its audio", async () => {
    const [a, b, c] = clients as [CallsClient, CallsClient, CallsClient];
    expect(a.sendingFrom("sessC").length).toBe(1);
    expect(await sessionStatus("call2", "sessC")).toBe(200);
    c.leave();
    await until("close for C", () => conn.closes.includes("sessC"));
    expect(await sessionStatus("call2", "sessC")).toBe(404);
    await until(
      "C's audio stopped at A and B",
      () => silentFor(200, () => lastFrom(a, "sessC"))() && silentFor(200, () => lastFrom(b, "sessC"))(),
    );
    const n = from(a, "sessC");
    const m = from(b, "sessC");
    await quietFor(600, "C is gone: nothing more from it at A or B");
    expect(from(a, "sessC")).toBe(n);
    expect(from(b, "sessC")).toBe(m);
    // Ours renegotiates the departed voice track away (its section goes
    // inactive); rtcd v1.2.6 only stops its sender (it renegotiates for
    // screen tracks only), so the section stays in the SDP.
    if (impl === "ours")
      await until("C's section inactive at A and B", () =>
        [a, b].every((x) => x.sendingFrom("sessC").length === 0),
      );
    else expect(a.sendingFrom("sessC").length).toBe(1);
    c.destroy();
  });

  test("five participants: everyone hears everyone", async () => {
    const ids = ["p1", "p2", "p3", "p4", "p5"];
    const five = ids.map((id) => client("call5", id));
    for (const c of five) await c.join();
    await until("five connected", () => five.every((c) => c.connected), 20_000);
    for (const c of five) c.startAudio();
    await until(
      "25 packets from each of the 4 others at each",
      () => five.every((to) => ids.every((id) => id === to.sessionID || from(to, id) >= 25)),
      30_000,
    );
    for (const to of five) {
      expect(
        to.tracks
          .filter((t) => t.kind === "audio")
          .map((t) => t.streamID)
          .sort(),
      ).toEqual(ids.filter((id) => id !== to.sessionID));
      expect(from(to, to.sessionID)).toBe(0);
      expect(to.errors).toEqual([]);
    }
  }, 120_000);

  test("a client that vanishes is cleaned up", async () => {
    const five = clients.filter((c) => c.callID === "call5");
    const gone = five[4]!;
    expect(await sessionStatus("call5", "p5")).toBe(200);
    gone.vanish();
    // rtcd: pion's ICE goes disconnected, then failed (about 30 s); ours:
    // ICE consent expires (20 s) plus a 5 s grace. Both end the session and
    // tell the plugin.
    await until("close for p5", () => conn.closes.includes("p5"), 60_000);
    expect(await sessionStatus("call5", "p5")).toBe(404);
    // The others go on hearing each other.
    const n = from(five[0]!, "p2");
    await until("p2 still heard by p1", () => from(five[0]!, "p2") >= n + 20);
    if (impl === "ours")
      await until("p5's section inactive at the others", () =>
        five.slice(0, 4).every((x) => x.sendingFrom("p5").length === 0),
      );
    for (const c of five) c.stopAudio();
  }, 90_000);
});
