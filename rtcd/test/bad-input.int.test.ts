// Bad signaling input costs only the session that sent it, against
// Mattermost's rtcd v1.2.6 and ours: malformed SDP of many kinds, and an
// offer whose only audio codec is one rtcd does not forward. A call next
// door keeps flowing throughout. Where the two differ in how the bad
// session itself is treated, the test says so.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RTCPeerConnection, RTCRtpCodecParameters } from "werift";
import { stopRtcd, type Impl, type Running } from "./support/procs.ts";
import { startForPlugin, untilJoined } from "./support/plugin-rtcd.ts";
import { Peer, PluginConn, type RtcMsg } from "./support/rtc-peer.ts";
import { until } from "./support/wait.ts";

const KEY = "e".repeat(40);

// A well-formed offer to mutate: audio + calls-dc, as the Calls client sends
// (or `audios` sending audio sections, more than any client sends).
async function goodOffer(audios = 1): Promise<string> {
  const pc = new RTCPeerConnection({ iceUseIpv6: false });
  pc.createDataChannel("calls-dc");
  for (let i = 0; i < audios; i++) pc.addTransceiver("audio", { direction: "sendrecv" });
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}

describe.each<Impl>(["rtcd", "ours"])("bad input against %s", (impl) => {
  let r: Running;
  let conn: PluginConn;
  let a: Peer;
  let b: Peer;
  let sdp: string;

  async function status(sessionID: string): Promise<number> {
    const res = await fetch(`${r.url}/calls/bad/sessions/${sessionID}`, {
      headers: { authorization: `Basic ${Buffer.from(`plugin:${KEY}`).toString("base64")}` },
    });
    await res.text();
    return res.status;
  }

  async function errorsTotal(): Promise<number> {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(/^rtcd_rtc_errors_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
    return n;
  }

  // A session of the "bad" call, joined and known to rtcd.
  async function joinBad(id: string): Promise<void> {
    conn.send("join", {
      callID: "bad",
      userID: "u",
      sessionID: id,
      channelID: "c",
      av1Support: false,
      dcSignaling: false,
    });
    await until("joined", async () => (await status(id)) === 200);
  }

  function rtc(sessionID: string, type: number, data: Buffer): void {
    const msg: RtcMsg = {
      group_id: "plugin",
      user_id: "u",
      session_id: sessionID,
      call_id: "bad",
      type,
      data,
    };
    conn.send("rtc", msg);
  }

  beforeAll(async () => {
    ({ r, conn } = await startForPlugin(impl, `bad-${impl}`, KEY));
    // The call next door.
    a = new Peer(conn, "good", "goodA");
    b = new Peer(conn, "good", "goodB");
    a.join();
    b.join();
    await a.offer({ send: true, dataChannel: true });
    await b.offer({ send: true, dataChannel: true });
    await a.connected();
    await b.connected();
    a.startAudio();
    await until("the good call flows", () => b.received.length >= 20, 15_000);
    sdp = await goodOffer();
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    conn?.close();
    if (r) await stopRtcd(r);
  });

  // [what, the message data, whether rtcd v1.2.6 ends the session for it].
  // Ours ends the session for all of them: the client's offer cannot be
  // answered, and a session without an answer is useless. rtcd ends it when
  // the offer fails its pion checks, and only logs a message it cannot even
  // unmarshal or that is not an offer/answer, or accepts the big one.
  const cases: [string, () => Buffer, boolean][] = [
    ["not JSON", () => Buffer.from("{not json"), false],
    ["JSON without sdp", () => Buffer.from(JSON.stringify({ type: "offer" })), true],
    ["an unknown SDP type", () => Buffer.from(JSON.stringify({ type: "pranswer", sdp })), false],
    ["not SDP at all", () => Buffer.from(JSON.stringify({ type: "offer", sdp: "hello" })), true],
    [
      "a broken m-line",
      () => Buffer.from(JSON.stringify({ type: "offer", sdp: "v=0\r\nm=audio x\r\n" })),
      true,
    ],
    [
      "no ICE credentials",
      () => Buffer.from(JSON.stringify({ type: "offer", sdp: sdp.replace(/a=ice-(ufrag|pwd):.*\r\n/g, "") })),
      true,
    ],
    [
      "no DTLS fingerprint",
      () => Buffer.from(JSON.stringify({ type: "offer", sdp: sdp.replace(/a=fingerprint:.*\r\n/g, "") })),
      true,
    ],
    [
      // Big, but under the WebSocket's 1 MB message limit (which costs the
      // whole plugin connection, in both).
      "a 300 kB SDP",
      () => Buffer.from(JSON.stringify({ type: "offer", sdp: sdp + `a=x:${"y".repeat(300_000)}\r\n` })),
      false,
    ],
  ];

  test.each(cases)("%s: an error for that session only", async (_name, data, rtcdEnds) => {
    const id = `bad-${Math.random().toString(36).slice(2, 8)}`;
    const before = await errorsTotal();
    await joinBad(id);
    rtc(id, 2, data());
    const closed = await until("close", () => conn.closes.includes(id), 3_000).then(
      () => true,
      () => false,
    );
    const ends = impl === "ours" || rtcdEnds;
    expect(closed).toBe(ends);
    expect(await status(id)).toBe(ends ? 404 : 200);
    // Ours counts it in rtcd_rtc_errors_total{type="signaling"}.
    if (impl === "ours") expect(await errorsTotal()).toBeGreaterThan(before);
    if (!closed) conn.send("leave", { sessionID: id });
    const n = b.received.length;
    await until("the good call still flows", () => b.received.length >= n + 20);
  });

  // A Calls client sends at most four tracks (voice, video, screen and its
  // audio); each track a session sends is forwarded to every other session
  // of its call, so one client sending hundreds would cost the whole call.
  test.runIf(impl === "ours")(
    "ours: an offer sending more tracks than limits.producers_per_session (8) ends that session only, counted",
    async () => {
      const refusals = async () =>
        Number(
          /^rtcd_limit_refusals_total\{limit="producers_per_session"\} (\d+)/m.exec(
            await (await fetch(`${r.url}/metrics`)).text(),
          )?.[1] ?? 0,
        );
      const before = await refusals();
      const id = "too-many-tracks";
      await joinBad(id);
      rtc(id, 2, Buffer.from(JSON.stringify({ type: "offer", sdp: await goodOffer(9) })));
      await until("the session closed", () => conn.closes.includes(id), 5_000);
      expect(await status(id)).toBe(404);
      expect(await refusals()).toBe(before + 1);
      const n = b.received.length;
      await until("the good call still flows", () => b.received.length >= n + 20);
    },
  );

  test("an offer with only an unsupported audio codec: the section is refused, the session lives", async () => {
    const pcmu = new RTCPeerConnection({
      codecs: {
        audio: [new RTCRtpCodecParameters({ mimeType: "audio/PCMU", clockRate: 8000, payloadType: 0 })],
        video: [],
      },
      iceAdditionalHostAddresses: ["127.0.0.1"],
      iceUseIpv6: false,
    });
    const answers: string[] = [];
    conn.on("pcmu", (type, data) => {
      const m = data as RtcMsg;
      if (type !== "rtc" || !m.data) return;
      if (m.type === 1) {
        // rtcd trickles its candidates.
        const c = JSON.parse(Buffer.from(m.data).toString()) as { candidate: { candidate: string } };
        pcmu.addIceCandidate(c.candidate).catch(() => {});
        return;
      }
      if (m.type !== 2) return;
      const desc = JSON.parse(Buffer.from(m.data).toString()) as { type: "answer"; sdp: string };
      answers.push(desc.sdp);
      pcmu.setRemoteDescription(desc).catch((err: unknown) => answers.push(`error: ${String(err)}`));
    });
    conn.send("join", {
      callID: "bad",
      userID: "u",
      sessionID: "pcmu",
      channelID: "c",
      av1Support: false,
      dcSignaling: false,
    });
    await untilJoined(r.url, KEY, "bad", ["pcmu"]);
    const dc = pcmu.createDataChannel("calls-dc");
    let open = false;
    dc.onopen = () => (open = true);
    pcmu.addTransceiver("audio", { direction: "sendrecv" });
    await pcmu.setLocalDescription(await pcmu.createOffer());
    rtc("pcmu", 2, Buffer.from(JSON.stringify({ type: "offer", sdp: pcmu.localDescription!.sdp })));
    await until("an answer", () => answers.length > 0);
    const audio = answers[0]!.split(/\r\nm=/).find((m) => m.startsWith("audio"))!;
    // Refused: port 0 (ours) or no common payload type (rtcd).
    expect(/^audio 0 /.test(audio) || !/a=rtpmap:0 PCMU/.test(audio)).toBe(true);
    // The rest of the session works: ICE, DTLS, calls-dc.
    await until("calls-dc open", () => open, 15_000);
    expect(await status("pcmu")).toBe(200);
    await pcmu.close();
    const n = b.received.length;
    await until("the good call still flows", () => b.received.length >= n + 20);
  });
});
