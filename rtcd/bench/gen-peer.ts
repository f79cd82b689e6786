// A load-generator participant for the media benchmark: a real WebRTC peer
// (werift: ICE, DTLS, SRTP) signaling through rtcd's WebSocket API like the
// test peers (../test/support/rtc-peer.ts), but built to count instead of
// keep: it stores no packets, only counters and latency samples.
//
// Audio: opus-size RTP (TOC byte, then the sender's index and its send time,
// padded to AUDIO_PAYLOAD bytes) at 50 packets/s. Both SFUs forward payload
// bytes unchanged, so a receiver reads the send time back and the difference
// is the one-way latency through the SFU (plus the generator's own send and
// receive path: all peers live in this one process, on one clock).
//
// Screen: VP8 at ~1.6 Mbit/s, 30 frames/s of VIDEO_PACKETS_PER_FRAME packets
// of VIDEO_PAYLOAD bytes, a key frame each second. One layer: werift sends no
// simulcast here.
import { MediaStream, MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from "werift";
import {
  AUDIO_LEVEL_URI,
  RtcSignaling,
  callsPeerConnection,
  type PluginConn,
  type RtcMsg,
} from "../test/support/rtc-peer.ts";

export const AUDIO_PAYLOAD = 80; // bytes: a typical 20 ms opus frame at ~32 kbit/s
export const VIDEO_PAYLOAD = 1100;
export const VIDEO_PACKETS_PER_FRAME = 6; // 6 x 1100 B x 30 fps ~ 1.6 Mbit/s
const OPUS_TOC = 0xf8; // CELT fullband 20 ms, mono, one frame

export class GenPeer {
  readonly pc: RTCPeerConnection;
  readonly sessionID: string;
  readonly callID: string;
  readonly index: number;
  readonly conn: PluginConn;
  private readonly signaling: RtcSignaling;
  readonly errors: string[] = [];
  // Counters.
  sentAudio = 0;
  sentVideo = 0;
  rxAudio = 0;
  rxVideo = 0;
  readonly rxAudioFrom = new Map<number, number>(); // sender index -> packets
  latencies: number[] = []; // ms, audio only
  private audio: MediaStreamTrack | undefined;
  private video: MediaStreamTrack | undefined;
  private audioTimer: NodeJS.Timeout | undefined;
  private videoTimer: NodeJS.Timeout | undefined;
  private seq = 1000;
  private ts = 0;
  private vseq = 5000;
  private vts = 0;
  private frames = 0;
  private readonly audioBuf = Buffer.alloc(AUDIO_PAYLOAD);
  private levelId = 0;

  constructor(conn: PluginConn, callID: string, sessionID: string, index: number) {
    this.conn = conn;
    this.callID = callID;
    this.sessionID = sessionID;
    this.index = index;
    this.pc = callsPeerConnection();
    this.signaling = new RtcSignaling(conn, callID, sessionID, this.pc);
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        const p = rtp.payload;
        if (rtp.header.payloadType === 96) {
          this.rxVideo++;
          return;
        }
        this.rxAudio++;
        if (p.length >= 13 && p[0] === OPUS_TOC) {
          const from = p.readUInt32BE(1);
          this.rxAudioFrom.set(from, (this.rxAudioFrom.get(from) ?? 0) + 1);
          this.latencies.push(performance.now() - p.readDoubleBE(5));
        }
      });
    });
    this.audioBuf[0] = OPUS_TOC;
    this.audioBuf.writeUInt32BE(index, 1);
    conn.on(sessionID, (type, data) => {
      if (type !== "rtc") return;
      void this.signaling.receive(data as RtcMsg).catch((err: unknown) => this.errors.push(String(err)));
    });
  }

  join(): void {
    this.conn.send("join", {
      callID: this.callID,
      userID: `user-${this.sessionID}`,
      sessionID: this.sessionID,
      channelID: `channel-${this.callID}`,
      av1Support: false,
      dcSignaling: false,
    });
  }

  private rtc(type: number, data?: unknown): void {
    this.signaling.send(type, data);
  }

  // Like the Calls client: a microphone track and the calls-dc channel.
  async offer(): Promise<void> {
    this.pc.createDataChannel("calls-dc");
    this.audio = new MediaStreamTrack({ kind: "audio" });
    this.pc.addTransceiver(this.audio, { direction: "sendonly" });
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const m = new RegExp(`a=extmap:(\\d+) ${AUDIO_LEVEL_URI}`).exec(this.pc.localDescription!.sdp);
    this.levelId = m ? Number(m[1]) : 10;
    this.rtc(2, { type: "offer", sdp: this.pc.localDescription!.sdp });
  }

  connected(timeoutMs: number): Promise<void> {
    return this.signaling.connected(timeoutMs);
  }

  startAudio(): void {
    this.audioTimer = setInterval(() => this.sendAudio(), 20);
  }

  private sendAudio(): void {
    if (!this.audio) return;
    const header = new RtpHeader({
      payloadType: 111,
      sequenceNumber: this.seq++ & 0xffff,
      timestamp: (this.ts += 960) >>> 0,
      marker: false,
      extensions: [{ id: this.levelId, payload: Buffer.from([0x80 | 30]) }], // speaking, -30 dBov
    });
    const payload = Buffer.from(this.audioBuf);
    payload.writeDoubleBE(performance.now(), 5);
    this.audio.writeRtp(new RtpPacket(header, payload));
    this.sentAudio++;
  }

  // Screen share as the Calls client does it: ScreenOn with the stream ID,
  // then a renegotiation (our offer) adding the video track.
  async shareScreen(): Promise<void> {
    const stream = new MediaStream({ id: `screen-${this.sessionID}` });
    this.rtc(5, { screenStreamID: stream.id });
    this.video = new MediaStreamTrack({ kind: "video" });
    this.pc.addTransceiver(this.video, { direction: "sendonly", streams: [stream] });
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.rtc(2, { type: "offer", sdp: this.pc.localDescription!.sdp });
    this.videoTimer = setInterval(() => this.sendFrame(), 33);
  }

  // One VP8 frame: the first packet carries the payload descriptor with S=1
  // and the frame tag (key frame once a second, with its start code and
  // size), the rest S=0; the marker ends the frame.
  private sendFrame(): void {
    if (!this.video) return;
    const key = this.frames++ % 30 === 0;
    this.vts = (this.vts + 3000) >>> 0;
    for (let i = 0; i < VIDEO_PACKETS_PER_FRAME; i++) {
      const payload = Buffer.alloc(VIDEO_PAYLOAD, 0x55);
      if (i === 0) {
        payload.set(
          key ? [0x10, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x07, 0x38, 0x04] : [0x10, 0x51, 0x01, 0x00],
        );
      } else payload[0] = 0x00;
      const header = new RtpHeader({
        payloadType: 96,
        sequenceNumber: this.vseq++ & 0xffff,
        timestamp: this.vts,
        marker: i === VIDEO_PACKETS_PER_FRAME - 1,
      });
      this.video.writeRtp(new RtpPacket(header, payload));
      this.sentVideo++;
    }
  }

  stopSending(): void {
    clearInterval(this.audioTimer);
    clearInterval(this.videoTimer);
  }

  leave(): void {
    this.conn.send("leave", { sessionID: this.sessionID });
  }

  async close(): Promise<void> {
    this.stopSending();
    await this.pc.close();
  }
}
