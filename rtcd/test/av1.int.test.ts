// AV1 screen sharing, against Mattermost's rtcd v1.2.6 and ours: a client
// that joined with `av1Support` shares its screen twice, a VP8 track and an
// AV1 one (PT 45); viewers that joined with `av1Support` get the AV1 track
// only, the others the VP8 one only, whether they were in the call when the
// share started or joined after.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopRtcd, type Impl, type Running } from "./support/procs.ts";
import { startForPlugin, untilJoined } from "./support/plugin-rtcd.ts";
import { AV1_PT, Peer, PluginConn, VP8_PT } from "./support/rtc-peer.ts";
import { quietFor, until } from "./support/wait.ts";

const KEY = "v".repeat(40);

describe.each<Impl>(["rtcd", "ours"])("AV1 screen share against %s", (impl) => {
  let r: Running;
  let conn: PluginConn;
  const peers: Peer[] = [];

  beforeAll(async () => {
    ({ r, conn } = await startForPlugin(impl, `av1-${impl}`, KEY));
  });

  afterAll(async () => {
    for (const p of peers) await p.close();
    conn?.close();
    if (r) await stopRtcd(r);
  });

  async function joined(sessionID: string, av1Support: boolean): Promise<Peer> {
    // Every peer can decode AV1: what it receives is decided by av1Support.
    const p = new Peer(conn, "av1call", sessionID, { av1: true });
    peers.push(p);
    p.join({ av1Support });
    await untilJoined(r.url, KEY, "av1call", [sessionID]);
    await p.offer({ send: true, dataChannel: true });
    await p.connected();
    return p;
  }

  const video = (p: Peer, pt: number) =>
    p.received.filter((x) => x.streamID === "sharer" && x.payloadType === pt);

  test("AV1 viewers get the AV1 track, the others the VP8 one", async () => {
    const sharer = await joined("sharer", true);
    const av1Viewer = await joined("av1viewer", true);
    const vp8Viewer = await joined("vp8viewer", false);
    await until("the data channels open", () => peers.every((p) => p.dcOpen), 10_000);
    sharer.startAudio();
    await sharer.shareScreen({ av1: true });

    await until("AV1 video at the AV1 viewer", () => video(av1Viewer, AV1_PT).length >= 30, 20_000);
    await until("VP8 video at the VP8 viewer", () => video(vp8Viewer, VP8_PT).length >= 30, 20_000);
    await quietFor(500, "no VP8 at the AV1 viewer, no AV1 at the VP8 viewer");
    expect(video(av1Viewer, VP8_PT)).toEqual([]);
    expect(video(vp8Viewer, AV1_PT)).toEqual([]);
    // The AV1 payload arrives as sent.
    expect(video(av1Viewer, AV1_PT)[0]!.payload.subarray(0, 2)).toEqual(Buffer.from([0x18, 0x0a]));
    for (const v of [av1Viewer, vp8Viewer]) {
      const screens = v.tracks.filter((t) => t.kind === "video" && t.streamID === "sharer");
      expect(screens).toHaveLength(1);
      expect(screens[0]!.trackID).toMatch(/^screen_sharer_[A-Za-z0-9]+$/);
      expect(v.errors).toEqual([]);
    }
  });

  test("viewers joining during the share get their codec too", async () => {
    const lateAV1 = await joined("lateav1", true);
    const lateVP8 = await joined("latevp8", false);
    await until("AV1 video at the late AV1 viewer", () => video(lateAV1, AV1_PT).length >= 30, 20_000);
    await until("VP8 video at the late VP8 viewer", () => video(lateVP8, VP8_PT).length >= 30, 20_000);
    expect(video(lateAV1, VP8_PT)).toEqual([]);
    expect(video(lateVP8, AV1_PT)).toEqual([]);
    // Audio is not affected by the codec choice.
    await until("the sharer's voice at both", () =>
      [lateAV1, lateVP8].every((p) =>
        p.received.some((x) => x.streamID === "sharer" && x.payloadType === 111),
      ),
    );
  });
});
