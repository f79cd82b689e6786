// Telling simulcast layers apart at a viewer, and making a viewer look lossy
// to the SFU.
import { RtcpReceiverInfo, RtcpRrPacket, type RTCPeerConnection } from "werift";

/**
 * The width in a VP8 key frame's header (RFC 7741 payload descriptor, then
 * RFC 6386 frame tag, start code, 14-bit width), or undefined for any other
 * packet.
 */
export function vp8KeyframeWidth(p: Buffer): number | undefined {
  if (p.length < 1) return undefined;
  const b0 = p[0]!;
  let i = 1;
  if (b0 & 0x80) {
    const x = p[i++] ?? 0;
    if (x & 0x80) i += (p[i] ?? 0) & 0x80 ? 2 : 1; // picture ID, 7 or 15 bits
    if (x & 0x40) i++; // TL0PICIDX
    if (x & 0x30) i++; // TID/KEYIDX
  }
  // Only the first packet of partition 0 holds the frame header.
  if (!(b0 & 0x10) || (b0 & 0x07) !== 0) return undefined;
  if (p.length < i + 10) return undefined;
  if (p[i]! & 0x01) return undefined; // an inter frame
  if (p[i + 3] !== 0x9d || p[i + 4] !== 0x01 || p[i + 5] !== 0x2a) return undefined;
  return p.readUInt16LE(i + 6) & 0x3fff;
}

/**
 * Sends a receiver report for `ssrc` claiming `totalLost` packets lost up to
 * `highestSequence`: a viewer on a lossy link, as the SFU sees it.
 */
export async function sendLossReport(
  pc: RTCPeerConnection,
  ssrc: number,
  totalLost: number,
  highestSequence: number,
): Promise<void> {
  const t = pc.getTransceivers()[0];
  if (!t) throw new Error("no transceiver to send a receiver report on");
  const report = new RtcpReceiverInfo({
    ssrc,
    fractionLost: 80, // of 256: about 30 %
    packetsLost: totalLost,
    highestSequence,
    jitter: 0,
    lsr: 0,
    dlsr: 0,
  });
  await t.receiver.dtlsTransport.sendRtcp([new RtcpRrPacket({ ssrc: 1, reports: [report] })]);
}
