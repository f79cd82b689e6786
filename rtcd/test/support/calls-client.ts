// The Mattermost Calls client's own WebRTC code, the `RTCPeer` class of
// `@mattermost/calls-common`, running in Node on werift (injected through
// its `webrtc` option, as the mobile app injects react-native-webrtc), with
// its signaling relayed the way the Calls plugin relays a browser's: the
// peer's 'offer'/'answer'/'candidate' events become `rtc` messages to rtcd,
// rtcd's `rtc` SDP/ICE messages are handed to `peer.signal()`.
//
// calls-common 0.27.2 (the newest on the registry) speaks the string form
// on calls-dc: a "ping" every second, RTT measured from the "pong".
import { RTCPeer } from "@mattermost/calls-common";
import {
  MediaStream,
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  type RTCRtpTransceiver,
} from "werift";
import {
  AUDIO_LEVEL_URI,
  OPUS_SILENCE,
  callsPeerConfig,
  type PluginConn,
  type ReceivedPacket,
  type RtcMsg,
} from "./rtc-peer.ts";

// What RTCPeer constructs: a werift peer with the Calls codecs and loopback
// ICE, whatever ICE servers rtcd's client config carries (none here).
class WeriftCallsPeerConnection extends RTCPeerConnection {
  constructor() {
    super(callsPeerConfig());
  }
}

const silentLogger = {
  logDebug: () => {},
  logErr: () => {},
  logWarn: () => {},
  logInfo: () => {},
};

export interface RemoteTrack {
  trackID: string;
  streamID: string;
  kind: string;
  mid: string;
  packets: number;
}

export class CallsClient {
  readonly callID: string;
  readonly sessionID: string;
  conn: PluginConn;
  peer: RTCPeer | undefined;
  readonly received: (ReceivedPacket & { mid: string })[] = [];
  readonly tracks: RemoteTrack[] = [];
  readonly errors: string[] = [];
  connected = false;
  // rtcd sent `close` for this session.
  closed = false;
  level = 127; // -dBov: 127 = silence
  private mic: MediaStreamTrack | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seq = 1;
  private ts = 0;
  sent = 0;

  constructor(conn: PluginConn, callID: string, sessionID: string) {
    this.conn = conn;
    this.callID = callID;
    this.sessionID = sessionID;
    this.attach(conn);
  }

  // The plugin's WebSocket to rtcd (again, after a reconnect).
  attach(conn: PluginConn): void {
    this.conn = conn;
    conn.on(this.sessionID, (type, data) => {
      if (type === "close") this.closed = true;
      if (type !== "rtc" || !this.peer) return;
      const m = data as RtcMsg;
      if ((m.type === 1 || m.type === 2) && m.data)
        this.peer
          .signal(Buffer.from(m.data).toString())
          .catch((err: unknown) => this.errors.push(String(err)));
    });
  }

  // The Calls webapp: join through the plugin, then the RTCPeer (whose
  // calls-dc triggers the first offer) with the microphone added.
  async join(opts: { mic: boolean } = { mic: true }): Promise<void> {
    this.conn.send("join", {
      callID: this.callID,
      userID: `user-${this.sessionID}`,
      sessionID: this.sessionID,
      channelID: "channel",
      av1Support: false,
      dcSignaling: false,
    });
    const peer = new RTCPeer({
      iceServers: [],
      logger: silentLogger,
      // RTCPeer only constructs these two; werift's MediaStream accepts the
      // track array RTCPeer passes. The DOM types do not describe werift.
      webrtc: { RTCPeerConnection: WeriftCallsPeerConnection, MediaStream } as unknown as NonNullable<
        ConstructorParameters<typeof RTCPeer>[0]["webrtc"]
      >,
    });
    this.peer = peer;
    peer.on("offer", (desc: { type: string; sdp: string }) =>
      this.rtc(2, { type: desc.type, sdp: desc.sdp }),
    );
    peer.on("answer", (desc: { type: string; sdp: string }) =>
      this.rtc(2, { type: desc.type, sdp: desc.sdp }),
    );
    peer.on("candidate", (c: { toJSON?: () => unknown }) => this.rtc(1, c.toJSON ? c.toJSON() : c));
    peer.on("connect", () => (this.connected = true));
    peer.on("error", (err: unknown) => this.errors.push(String(err)));
    peer.on("stream", (stream: MediaStream) => this.onStream(stream));
    if (opts.mic) {
      this.mic = new MediaStreamTrack({ kind: "audio" });
      const stream = new MediaStream({ id: `mic-${this.sessionID}` });
      // RTCPeer is typed for the DOM; werift's track and stream are what it uses.
      type Args = Parameters<RTCPeer["addTrack"]>;
      await peer.addTrack(this.mic as unknown as Args[0], stream as unknown as Args[1]);
    }
  }

  private pc(): RTCPeerConnection {
    // RTCPeer keeps its connection private; tests look at the negotiated SDP.
    return (this.peer as unknown as { pc: RTCPeerConnection }).pc;
  }

  private onStream(stream: MediaStream): void {
    const track = stream.getTracks()[0];
    if (!track) return;
    const trx = this.pc()
      .getTransceivers()
      .find((t: RTCRtpTransceiver) => t.receiver.track === track);
    const rt: RemoteTrack = {
      trackID: trx?.receiver.remoteTrackId ?? "",
      streamID: trx?.receiver.remoteStreamId ?? "",
      kind: track.kind,
      mid: trx?.mid ?? "",
      packets: 0,
    };
    this.tracks.push(rt);
    track.onReceiveRtp.subscribe((rtp) => {
      rt.packets++;
      this.received.push({
        ssrc: rtp.header.ssrc,
        payloadType: rtp.header.payloadType,
        sequenceNumber: rtp.header.sequenceNumber,
        payload: Buffer.from(rtp.payload),
        at: performance.now(),
        trackID: rt.trackID,
        streamID: rt.streamID,
        mid: rt.mid,
      });
    });
  }

  // The remote description's sections that still send this session's media.
  sendingFrom(sessionID: string): string[] {
    const sdp = this.pc().remoteDescription?.sdp ?? "";
    return sdp
      .split(/\r\nm=/)
      .slice(1)
      .filter(
        (m) => m.includes(`a=msid:${sessionID} `) && /a=(sendonly|sendrecv)/.test(m) && !/^\w+ 0 /.test(m),
      )
      .map((m) => /a=mid:(\S+)/.exec(m)?.[1] ?? "");
  }

  remoteSdp(): string {
    return this.pc().remoteDescription?.sdp ?? "";
  }

  rtt(): number {
    return this.peer?.getRTT() ?? 0;
  }

  private rtc(type: number, data?: unknown): void {
    const msg: RtcMsg = {
      group_id: this.conn.clientID,
      user_id: `user-${this.sessionID}`,
      session_id: this.sessionID,
      call_id: this.callID,
      type,
      ...(data === undefined ? {} : { data: Buffer.from(JSON.stringify(data)) }),
    };
    this.conn.send("rtc", msg);
  }

  mute(on: boolean): void {
    this.rtc(on ? 3 : 4);
  }

  leave(): void {
    this.conn.send("leave", { sessionID: this.sessionID });
  }

  // Opus packets every 20 ms with the audio level the test sets.
  startAudio(): void {
    this.timer = setInterval(() => this.sendPacket(), 20);
  }

  stopAudio(): void {
    clearInterval(this.timer);
  }

  private levelId: number | undefined;
  private sendPacket(): void {
    if (!this.mic) return;
    if (this.levelId === undefined) {
      const m = new RegExp(`a=extmap:(\\d+) ${AUDIO_LEVEL_URI}`).exec(this.pc().localDescription?.sdp ?? "");
      if (!m) return;
      this.levelId = Number(m[1]);
    }
    const header = new RtpHeader({
      payloadType: 111,
      sequenceNumber: this.seq++ & 0xffff,
      timestamp: (this.ts += 960) >>> 0,
      extensions: [{ id: this.levelId, payload: Buffer.from([(this.level < 127 ? 0x80 : 0) | this.level]) }],
    });
    this.mic.writeRtp(new RtpPacket(header, OPUS_SILENCE));
    this.sent++;
  }

  // The client disappears without a word (tab killed, network gone): its
  // UDP sockets stop sending and receiving; nothing is closed politely.
  vanish(): void {
    this.stopAudio();
    for (const ice of this.pc().iceTransports) {
      const conn = ice.connection as unknown as {
        protocols: { transport: { send: unknown; onData: unknown } }[];
      };
      for (const p of conn.protocols) {
        p.transport.send = async () => {};
        p.transport.onData = () => {};
      }
    }
  }

  destroy(): void {
    this.stopAudio();
    try {
      this.peer?.destroy();
    } catch {
      // destroyed already
    }
  }
}
