// A browser in the call: headless Chromium with fake devices runs the Calls
// client's RTCPeer (support/chromium.ts) next to a werift one, against
// Mattermost's rtcd v1.2.6 and ours. Chromium's real opus encoder, SCTP
// (DCEP on calls-dc) and ICE/DTLS stack meet each SFU. Skips, saying so, when
// no Chromium binary is installed (Debian package `chromium`, or
// CHROMIUM_BIN).
import { readFileSync } from "node:fs";
import { OpusDecoder } from "opus-decoder";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CallsClient } from "./support/calls-client.ts";
import { BrowserClient, findChromium, launchChromium, PageServer } from "./support/chromium.ts";
import { stopRtcd, type Impl, type Running } from "./support/procs.ts";
import { startForPlugin } from "./support/plugin-rtcd.ts";
import { PluginConn, until } from "./support/rtc-peer.ts";

const KEY = "b".repeat(40);
const CHROMIUM = findChromium();

if (!CHROMIUM)
  test.skip("Chromium scenarios skipped: no chromium binary (apt-get install chromium, or set CHROMIUM_BIN)", () => {});

// On a timeout: what the page saw and sent, what werift received, and what
// the SFU logged of the session.
async function sessionDetail(chrome: BrowserClient, w: CallsClient, logFile: string, session: string) {
  const received: Record<string, number> = {};
  for (const p of w.received) {
    const k = `${p.streamID}/pt ${p.payloadType}`;
    received[k] = (received[k] ?? 0) + 1;
  }
  const page = async (f: () => Promise<unknown>) =>
    JSON.stringify(await f().catch((e: unknown) => String(e)));
  return [
    `Chromium: ${await page(() => chrome.state())}; page errors: ${JSON.stringify(chrome.errors)}`,
    `Chromium sent: ${await page(() => chrome.mediaSent())}`,
    `werift received: ${JSON.stringify(received)}`,
    `SDP, in order: ${chrome.sdpLog.join(", ")}`,
    ...readFileSync(logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes(`"${session}"`) && !l.includes('"level":"debug"'))
      .slice(-10),
  ].join("\n");
}

describe.runIf(CHROMIUM).each<Impl>(["rtcd", "ours"])("Chromium (RTCPeer) against %s", (impl) => {
  let r: Running;
  let conn: PluginConn;
  let server: PageServer;
  let browser: Browser;
  const werift: CallsClient[] = [];

  beforeAll(async () => {
    ({ r, conn } = await startForPlugin(impl, `chromium-${impl}`, KEY));
    server = await PageServer.start();
    browser = await launchChromium(CHROMIUM!);
  });

  afterAll(async () => {
    for (const c of werift) c.destroy();
    await browser?.close();
    await server?.close();
    conn?.close();
    if (r) await stopRtcd(r);
  });

  test("Chromium and a werift client: calls-dc pongs, opus both ways", async () => {
    const chrome = await BrowserClient.open(browser, server, conn, "callx", "chrome");
    const w = new CallsClient(conn, "callx", "werift");
    werift.push(w);
    await chrome.join();
    await w.join();
    await until("both connected", () => w.connected, 20_000);
    await until("Chromium connected", async () => (await chrome.state()).connected, 20_000);
    w.startAudio();

    // Chromium's fake microphone (a beep) encoded by its real opus encoder
    // reaches the werift client and decodes, not all of it silence.
    await until(
      "Chromium's audio at werift",
      () => w.received.filter((p) => p.streamID === "chrome").length >= 100,
      20_000,
      () => sessionDetail(chrome, w, r.logFile, "chrome"),
    );
    const decoder = new OpusDecoder({ channels: 2 });
    await decoder.ready;
    let loud = 0;
    for (const p of w.received.filter((x) => x.streamID === "chrome")) {
      const out = decoder.decodeFrame(p.payload);
      expect(out.errors).toEqual([]);
      const peak = Math.max(...out.channelData[0]!.map(Math.abs));
      if (peak > 0.01) loud++;
    }
    decoder.free();
    expect(loud).toBeGreaterThan(0);
    expect(w.tracks.find((t) => t.streamID === "chrome")?.trackID).toMatch(/^voice_chrome_[A-Za-z0-9]+$/);

    // The werift client's audio reaches Chromium.
    await until("werift's audio in Chromium", async () => (await chrome.audioPacketsIn()) >= 50, 20_000);
    // calls-dc opened (DCEP from Chromium's SCTP) and RTCPeer's pings got pongs.
    await until("RTT in Chromium", async () => (await chrome.state()).rtt > 0, 10_000);
    const st = await chrome.state();
    expect(st.tracks).toContain("audio");
    expect(st.errors).toEqual([]);
    expect(chrome.errors).toEqual([]);
    expect(w.errors).toEqual([]);
  });

  // Perfect negotiation as the Calls client and rtcd play it: the client
  // (RTCPeer) is polite, the SFU is not. Chromium starts a screen share
  // while the SFU's offer to it (a newcomer's audio) is held in flight: the
  // SFU must ignore Chromium's crossing offer, Chromium then rolls its own
  // back, answers the SFU's and offers again. Both tracks get through and
  // the session lives on.
  test("glare: Chromium shares its screen while an offer to it is in flight; both tracks get through", async () => {
    const chrome = await BrowserClient.open(browser, server, conn, "callg", "chromeG");
    await chrome.join();
    await until("Chromium connected", async () => (await chrome.state()).connected, 20_000);
    chrome.hold();
    const w = new CallsClient(conn, "callg", "glareW");
    werift.push(w);
    await w.join();
    await until("werift connected", () => w.connected, 20_000);
    w.startAudio();
    await until("the SFU's offer of werift's audio, held", () => chrome.heldOffers() > 0, 20_000);
    const sent = chrome.offersSent;
    await chrome.shareScreen();
    await until("Chromium's own offer sent", () => chrome.offersSent > sent, 20_000);
    chrome.release();

    const detail = () => sessionDetail(chrome, w, r.logFile, "chromeG");
    await until(
      "Chromium's screen at werift",
      () => w.received.filter((p) => p.streamID === "chromeG" && p.payloadType === 96).length >= 15,
      30_000,
      detail,
    );
    await until(
      "werift's audio in Chromium",
      async () => (await chrome.audioPacketsIn()) >= 50,
      20_000,
      detail,
    );
    const st = await chrome.state();
    expect(st.connected).toBe(true);
    expect(st.errors).toEqual([]);
    expect(chrome.errors).toEqual([]);
    expect(w.errors).toEqual([]);
    // Not ended and rejoined behind the test's back (ours logs why it ends one).
    const ended = readFileSync(r.logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes('"chromeG"') && l.includes("ending session"));
    expect(ended).toEqual([]);
  });

  test("screen share from Chromium with simulcast (h and l) reaches a werift and a Chromium viewer", async () => {
    const chrome = await BrowserClient.open(browser, server, conn, "cally", "chromeS");
    const chromeViewer = await BrowserClient.open(browser, server, conn, "cally", "chromeV");
    const w = new CallsClient(conn, "cally", "viewer");
    werift.push(w);
    await chrome.join();
    await chromeViewer.join();
    await w.join();
    await until(
      "all connected",
      async () => w.connected && (await chrome.state()).connected && (await chromeViewer.state()).connected,
      20_000,
    );
    await chrome.shareScreen();
    // Both layers are negotiated: Chromium keeps one outbound stream per
    // RID only when the SFU's answer accepted the simulcast (whether h is
    // sent yet depends on Chromium's bandwidth estimate, not on the SFU).
    await until(
      "simulcast negotiated, a layer sent",
      async () => {
        const rids = await chrome.videoRidsOut();
        return "h" in rids && "l" in rids && (rids["l"] ?? 0) + (rids["h"] ?? 0) > 0;
      },
      20_000,
    );
    await until(
      "screen video at the viewer",
      // The low layer runs at 5 frames/s, about a packet each.
      () => w.received.filter((p) => p.streamID === "chromeS" && p.payloadType === 96).length >= 15,
      30_000,
    );
    const t = w.tracks.find((x) => x.kind === "video");
    expect(t?.trackID).toMatch(/^screen_chromeS_[A-Za-z0-9]+$/);
    // One layer at a time reaches the viewer: a single SSRC.
    const ssrcs = new Set(w.received.filter((p) => p.payloadType === 96).map((p) => p.ssrc));
    expect(ssrcs.size).toBe(1);
    // A browser viewer decodes it: it demuxes our sections by MID or SSRC and
    // drops a packet with a MID it does not know, so header extension IDs
    // that are not its own would cost it the video (see worker-build/patches).
    await until(
      "screen frames decoded in Chromium",
      async () => (await chromeViewer.videoInWidth()) > 0,
      30_000,
    );
    expect(chromeViewer.errors).toEqual([]);
    expect(w.errors).toEqual([]);
  });
});
