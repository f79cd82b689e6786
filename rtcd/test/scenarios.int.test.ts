// The same call scenarios against Mattermost's rtcd v1.2.6 (built from the
// Go module proxy, see support/go-build.ts) and ours (src/main.ts), both as
// processes on loopback, with real WebRTC peers (werift) behaving like the
// Calls client: a microphone track and the calls-dc data channel in the
// first offer, signaling relayed over rtcd's WebSocket API. Needs Go (for
// the real rtcd) and the mediasoup worker (for ours).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopRtcd, type Impl, type Running } from "./support/procs.ts";
import { startForPlugin, untilJoined } from "./support/plugin-rtcd.ts";
import { OPUS_SILENCE, Peer, PluginConn } from "./support/rtc-peer.ts";
import { quietFor, silentFor, until } from "./support/wait.ts";

const KEY = "s".repeat(40);

describe.each<Impl>(["rtcd", "ours"])("call scenarios against %s", (impl) => {
  let r: Running;
  let conn: PluginConn;
  let a: Peer;
  let b: Peer;

  beforeAll(async () => {
    ({ r, conn } = await startForPlugin(impl, `scenarios-${impl}`, KEY));
    a = new Peer(conn, "call", "sessA");
    b = new Peer(conn, "call", "sessB");
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    conn?.close();
    if (r) await stopRtcd(r);
  });

  test("two participants: opus from A reaches B with rtcd's stream and track IDs", async () => {
    a.join();
    b.join();
    await untilJoined(r.url, KEY, a.callID, [a.sessionID, b.sessionID]);
    await a.offer({ send: true, dataChannel: true });
    await b.offer({ send: true, dataChannel: true });
    await a.connected();
    await b.connected();
    a.startAudio();
    await until("40 packets at B", () => b.received.length >= 40, 15_000);
    for (const p of b.received) {
      expect(p.payloadType).toBe(111);
      expect(p.payload.equals(OPUS_SILENCE)).toBe(true);
    }
    const t = b.tracks.find((x) => x.kind === "audio" && x.streamID === "sessA");
    expect(t?.trackID).toMatch(/^voice_sessA_[A-Za-z0-9]+$/);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  test("voice activity: VoiceOn while A speaks, VoiceOff after", async () => {
    const vad = () => conn.vad.filter((v) => v.sessionID === "sessA").map((v) => v.type);
    a.level = 10;
    await until("VoiceOn", () => vad().includes(7), 15_000);
    a.level = 127;
    await until("VoiceOff", () => vad().lastIndexOf(8) > vad().lastIndexOf(7), 15_000);
  });

  test("mute stops forwarding, unmute resumes it", async () => {
    a.mute(true);
    await until(
      "B hears nothing from muted A",
      silentFor(200, () => b.received.at(-1)?.at),
    );
    const n = b.received.length;
    await quietFor(800, "A stays muted: nothing forwarded to B");
    expect(b.received.length - n).toBeLessThanOrEqual(1);
    a.mute(false);
    const m = b.received.length;
    await until("packets after unmute", () => b.received.length >= m + 20);
  });

  test("leave: the session ends with close", async () => {
    a.stopAudio();
    a.leave();
    b.leave();
    await until("close for both", () => conn.closes.includes("sessA") && conn.closes.includes("sessB"));
  });
});
