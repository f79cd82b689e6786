// Headless Chromium running the Calls client's RTCPeer (@mattermost/calls-common,
// loaded unbundled from node_modules by a loopback HTTP server) with fake
// media devices, driven from Node with playwright-core, its signaling bridged
// to rtcd's WebSocket API the way the Calls plugin relays a browser's.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, normalize } from "node:path";
import { createRequire } from "node:module";
import { chromium, type Browser, type Page } from "playwright-core";
import type { PluginConn, RtcMsg } from "./rtc-peer.ts";

// The browser to use: $CHROMIUM_BIN, else Debian's `chromium` package.
export function findChromium(): string | undefined {
  const candidates = [process.env["CHROMIUM_BIN"], "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

const LIB = join(dirname(createRequire(import.meta.url).resolve("@mattermost/calls-common")));

// calls-common imports Node's `events`: the page maps it (import map) to this.
const EVENTS_SHIM = `
export class EventEmitter {
  #l = new Map();
  on(e, f) { (this.#l.get(e) ?? this.#l.set(e, []).get(e)).push(f); return this; }
  once(e, f) { const g = (...a) => { this.off(e, g); f(...a); }; return this.on(e, g); }
  off(e, f) { this.#l.set(e, (this.#l.get(e) ?? []).filter((x) => x !== f)); return this; }
  removeListener(e, f) { return this.off(e, f); }
  removeAllListeners(e) { if (e === undefined) this.#l.clear(); else this.#l.delete(e); return this; }
  emit(e, ...a) { const fs = this.#l.get(e) ?? []; for (const f of [...fs]) f(...a); return fs.length > 0; }
}
export default { EventEmitter };
`;

// The page: what the Calls webapp does around RTCPeer, reduced to what the
// tests look at. `sendRtc` is bound to Node by the harness.
const PAGE = `<!doctype html>
<script type="importmap">{"imports":{"events":"/shim/events.js"}}</script>
<script type="module">
import { RTCPeer } from "/lib/rtc_peer.js";
const state = (window.calls = { connected: false, errors: [], tracks: [], videoWidths: [] });
const logger = { logDebug() {}, logInfo() {}, logWarn() {}, logErr: (...a) => state.errors.push(a.map(String).join(" ")) };
window.startCall = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  const peer = (window.peer = new RTCPeer({ iceServers: [], logger, simulcast: true }));
  peer.on("offer", (d) => window.sendRtc(2, JSON.stringify(d)));
  peer.on("answer", (d) => window.sendRtc(2, JSON.stringify(d)));
  peer.on("candidate", (c) => window.sendRtc(1, JSON.stringify(c)));
  peer.on("connect", () => (state.connected = true));
  peer.on("error", (e) => state.errors.push(String(e)));
  peer.on("stream", (s) => {
    const kind = s.getTracks()[0].kind;
    state.tracks.push(kind);
    if (kind !== "video") return;
    // A sink, so the page decodes what it receives (and reports frame sizes).
    const v = document.createElement("video");
    v.muted = true;
    v.srcObject = s;
    // Every frame size the page shows, in order: which layer came first.
    v.addEventListener("resize", () => state.videoWidths.push(v.videoWidth));
    document.body.append(v);
    v.play().catch(() => {});
  });
  peer.addStream(stream);
};
// Screen share as the webapp does it: ScreenOn with the stream's ID, then
// the track through RTCPeer.addTrack (simulcast h/l for video). A canvas
// stands in for the captured screen. For the layer tests, \`lowScale\` sends
// the l layer at 1/lowScale of the resolution, so a viewer can tell the
// layers apart by frame size.
window.shareScreen = async (opts = {}) => {
  const canvas = document.createElement("canvas");
  canvas.width = 1280;
  canvas.height = 720;
  const g = canvas.getContext("2d");
  let i = 0;
  setInterval(() => {
    window.screenFrames = (window.screenFrames ?? 0) + 1;
    g.fillStyle = \`hsl(\${(i += 7) % 360} 80% 50%)\`;
    g.fillRect(0, 0, 1280, 720);
    g.fillStyle = "#fff";
    g.fillText(String(i), 20 + (i % 1200), 360);
  }, 50);
  const stream = canvas.captureStream(20);
  const track = stream.getVideoTracks()[0];
  window.sendRtc(5, JSON.stringify({ screenStreamID: stream.id }));
  await window.peer.addTrack(track, stream);
  if (opts.lowScale) {
    const sender = window.peer.senders[track.id];
    const params = sender.getParameters();
    for (const e of params.encodings) if (e.rid === "l") e.scaleResolutionDownBy = opts.lowScale;
    await sender.setParameters(params);
  }
};
window.videoInWidth = async () => {
  let w = 0;
  (await window.peer.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video" && r.frameWidth) w = r.frameWidth;
  });
  return w;
};
// Why the sender sends what it sends, per RID (for failure messages).
window.videoSendState = async () => {
  // The page's side too: a sender with nothing to send (a hidden page whose
  // canvas is not drawn, a transceiver not sending) says so here.
  const out = {
    page: { visibility: document.visibilityState, focus: document.hasFocus(), canvasFrames: window.screenFrames ?? 0 },
    transceivers: (window.peer.pc?.getTransceivers?.() ?? []).map((t) => [t.mid, t.direction, t.currentDirection, t.sender.track?.kind ?? null]),
  };
  (await window.peer.getStats()).forEach((r) => {
    if (r.type === "outbound-rtp" && r.kind === "video")
      out[r.rid ?? ""] = {
        bytes: r.bytesSent,
        width: r.frameWidth,
        fps: r.framesPerSecond,
        limitedBy: r.qualityLimitationReason,
        active: r.active,
      };
  });
  return out;
};
window.videoRidsOut = async () => {
  const out = {};
  (await window.peer.getStats()).forEach((r) => {
    if (r.type === "outbound-rtp" && r.kind === "video") out[r.rid ?? ""] = r.bytesSent;
  });
  return out;
};
// What the page has sent, per kind (and RID), and its transport's state:
// for failure messages, where media from Chromium never arrived.
window.mediaSent = async () => {
  const out = {};
  (await window.peer.getStats()).forEach((r) => {
    if (r.type === "outbound-rtp") out[r.kind + (r.rid ? ":" + r.rid : "")] = { packets: r.packetsSent, bytes: r.bytesSent };
    if (r.type === "transport") out.transport = { ice: r.iceState, dtls: r.dtlsState, srtp: r.srtpCipher, tls: r.tlsVersion };
  });
  return out;
};
window.signal = (data) => window.peer.signal(data).catch((e) => state.errors.push(String(e)));
window.audioPacketsIn = async () => {
  let n = 0;
  (await window.peer.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") n += r.packetsReceived;
  });
  return n;
};
window.ready = true;
</script>`;

export class PageServer {
  private readonly server: Server;
  readonly url: string;

  private constructor(server: Server, url: string) {
    this.server = server;
    this.url = url;
  }

  static async start(): Promise<PageServer> {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const send = (body: string | Buffer, type: string) => {
        res.writeHead(200, { "content-type": type });
        res.end(body);
      };
      if (path === "/") return send(PAGE, "text/html");
      if (path === "/shim/events.js") return send(EVENTS_SHIM, "text/javascript");
      if (path.startsWith("/lib/")) {
        // The package's ESM imports leave out ".js" (its bundlers add it).
        const file = normalize(join(LIB, path.slice(5)));
        if (file.startsWith(LIB))
          for (const f of [file, `${file}.js`])
            if (existsSync(f) && statSync(f).isFile()) return send(readFileSync(f), "text/javascript");
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    return new PageServer(server, `http://127.0.0.1:${port}/`);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

export async function launchChromium(bin: string): Promise<Browser> {
  return chromium.launch({
    executablePath: bin,
    headless: true,
    args: [
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      // Loopback only: loopback ICE candidates, no mDNS names for them.
      "--allow-loopback-in-peer-connection",
      "--disable-features=WebRtcHideLocalIpsWithMdns",
      "--no-sandbox", // the tests run as root
    ],
  });
}

export class BrowserClient {
  readonly errors: string[] = [];
  readonly page: Page;
  readonly callID: string;
  readonly sessionID: string;
  // SDP offers the page has sent.
  offersSent = 0;
  // The SDP each side sent, in order, with ms since the page opened
  // ("page offer +1234", "sfu answer +1300", "sfu offer held +1400"), for
  // failure messages: which side dropped a negotiation.
  readonly sdpLog: string[] = [];
  private readonly opened = performance.now();
  private readonly conn: PluginConn;
  // Signals from the SFU held back (hold/release), in arrival order.
  private held: string[] | undefined;

  private constructor(page: Page, conn: PluginConn, callID: string, sessionID: string) {
    this.page = page;
    this.conn = conn;
    this.callID = callID;
    this.sessionID = sessionID;
  }

  static async open(
    browser: Browser,
    server: PageServer,
    conn: PluginConn,
    callID: string,
    sessionID: string,
  ): Promise<BrowserClient> {
    const page = await browser.newPage();
    const c = new BrowserClient(page, conn, callID, sessionID);
    page.on("pageerror", (e) => c.errors.push(String(e)));
    await page.exposeFunction("sendRtc", (type: number, data: string) => {
      const msg: RtcMsg = {
        group_id: c.conn.clientID,
        user_id: `user-${sessionID}`,
        session_id: sessionID,
        call_id: callID,
        type,
        data: Buffer.from(data),
      };
      if (type === 2 && data.includes('"offer"')) c.offersSent++;
      if (type === 2) c.noteSdp("page", data);
      c.conn.send("rtc", msg);
    });
    conn.on(sessionID, (type, data) => {
      if (type !== "rtc") return;
      const m = data as RtcMsg;
      if ((m.type === 1 || m.type === 2) && m.data) {
        const d = Buffer.from(m.data).toString();
        if (m.type === 2) c.noteSdp(c.held ? "sfu (held)" : "sfu", d);
        if (c.held) c.held.push(d);
        else c.signal(d);
      }
    });
    await page.goto(server.url);
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
    return c;
  }

  private noteSdp(from: string, d: string): void {
    const kind = /"type":\s*"(\w+)"/.exec(d)?.[1] ?? "sdp";
    this.sdpLog.push(`${from} ${kind} +${Math.round(performance.now() - this.opened)}`);
  }

  private signal(d: string): void {
    this.page
      .evaluate((x) => (globalThis as unknown as { signal(d: string): void }).signal(x), d)
      .catch((err: unknown) => this.errors.push(String(err)));
  }

  // Holds the SFU's signals back from the page (a signal in flight, made
  // as long as a test needs), until release() delivers them in order.
  hold(): void {
    this.held ??= [];
  }

  // The held signals that are SDP offers.
  heldOffers(): number {
    return (this.held ?? []).filter((d) => d.includes('"offer"')).length;
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.sdpLog.push(
      `released ${held.length} held signal(s) +${Math.round(performance.now() - this.opened)}`,
    );
    for (const d of held) this.signal(d);
  }

  async join(): Promise<void> {
    this.conn.send("join", {
      callID: this.callID,
      userID: `user-${this.sessionID}`,
      sessionID: this.sessionID,
      channelID: "channel",
      av1Support: false,
      dcSignaling: false,
    });
    await this.page.evaluate(() => (globalThis as unknown as { startCall(): Promise<void> }).startCall());
  }

  // What the page's RTCPeer saw: connection, remote tracks, errors, RTT.
  state(): Promise<{ connected: boolean; errors: string[]; tracks: string[]; rtt: number }> {
    return this.page.evaluate(() => {
      const w = globalThis as unknown as {
        calls: { connected: boolean; errors: string[]; tracks: string[] };
        peer: { getRTT(): number };
      };
      return { ...w.calls, rtt: w.peer.getRTT() };
    });
  }

  shareScreen(opts: { lowScale?: number } = {}): Promise<void> {
    return this.page.evaluate(
      (o) => (globalThis as unknown as { shareScreen(o: object): Promise<void> }).shareScreen(o),
      opts,
    );
  }

  // The width of the frames the page decodes from the screen share it views.
  videoInWidth(): Promise<number> {
    return this.page.evaluate(() =>
      (globalThis as unknown as { videoInWidth(): Promise<number> }).videoInWidth(),
    );
  }

  // The widths of the received video, in the order the page showed them.
  videoInWidths(): Promise<number[]> {
    return this.page.evaluate(
      () => (globalThis as unknown as { calls: { videoWidths: number[] } }).calls.videoWidths,
    );
  }

  // Per simulcast RID: bytes, frame width, frame rate and what limits it
  // (Chromium's qualityLimitationReason: cpu, bandwidth or none).
  videoSendState(): Promise<Record<string, unknown>> {
    return this.page.evaluate(() =>
      (globalThis as unknown as { videoSendState(): Promise<Record<string, unknown>> }).videoSendState(),
    );
  }

  // Bytes sent per simulcast RID ("" without simulcast).
  videoRidsOut(): Promise<Record<string, number>> {
    return this.page.evaluate(() =>
      (globalThis as unknown as { videoRidsOut(): Promise<Record<string, number>> }).videoRidsOut(),
    );
  }

  // Packets and bytes sent per kind (and RID), and the transport's ICE,
  // DTLS and SRTP state.
  mediaSent(): Promise<Record<string, unknown>> {
    return this.page.evaluate(() =>
      (globalThis as unknown as { mediaSent(): Promise<Record<string, unknown>> }).mediaSent(),
    );
  }

  audioPacketsIn(): Promise<number> {
    return this.page.evaluate(() =>
      (globalThis as unknown as { audioPacketsIn(): Promise<number> }).audioPacketsIn(),
    );
  }
}
