// The client's `calls-dc` data channel on top of mediasoup's SCTP.
//
// mediasoup runs the SCTP association of a WebRtcTransport but knows no DCEP
// (RFC 8832): it maps SCTP stream IDs to DataProducers (incoming) and
// DataConsumers (outgoing) and passes every message, with its PPID, through.
// The Calls client creates calls-dc without `negotiated: true`, so it sends a
// DATA_CHANNEL_OPEN on a stream of its choosing and (Chrome, pion) starts
// sending right away or (werift) waits for our DATA_CHANNEL_ACK. So:
//
// - before the association is up, a DataProducer listens on each stream the
//   client's first channel can use: 0 when the client is the DTLS client,
//   1 when it is the DTLS server (RFC 8832 section 6); a DirectTransport
//   DataConsumer hands its messages to Node;
// - on the OPEN we get an SCTP DataConsumer on the same stream ID (mediasoup
//   allocates outgoing stream IDs itself, in order, so lower unused IDs are
//   taken by idle placeholders) and send the ACK on it (PPID 50), then
//   messages (PPID 51 strings, 53 binary).
import type { types as ms } from "mediasoup";
import type { Logger } from "../log.ts";
import { DCEP_ACK_MESSAGE, isDcepAck, parseDcepOpen, PPID } from "./dc-msg.ts";

export const CALLS_DC_LABEL = "calls-dc";

// The first channel a client opens uses stream 0 or 1 (see above).
const LISTEN_STREAMS = [0, 1];

export interface DataChannelEvents {
  // calls-dc is open: the OPEN arrived and our ACK is on its way.
  open(label: string): void;
  // A message on calls-dc: a string (PPID 51/56) or binary (53/57). The
  // next message waits for the promise, if it returns one.
  message(data: string | Buffer): void | Promise<void>;
  // Asked as each message arrives, before it is queued: false drops it
  // (a rate limit; the DCEP messages that open the channel always pass).
  admit?(): boolean;
}

export class SctpDataChannel {
  private readonly transport: ms.WebRtcTransport;
  private readonly direct: ms.DirectTransport;
  private readonly events: DataChannelEvents;
  private readonly log: Logger;
  // Idle producer the outgoing SCTP consumers hang off: DataConsumer.send()
  // injects our messages, and nothing is ever produced on it.
  private idle: ms.DataProducer | undefined;
  private out: ms.DataConsumer | undefined;
  private readonly placeholders: ms.DataConsumer[] = [];
  private streamId: number | undefined;
  private closed = false;
  // Message handling, in arrival order (handling the OPEN awaits the worker).
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    transport: ms.WebRtcTransport,
    direct: ms.DirectTransport,
    events: DataChannelEvents,
    log: Logger,
  ) {
    this.transport = transport;
    this.direct = direct;
    this.events = events;
    this.log = log;
  }

  static async create(
    router: ms.Router,
    transport: ms.WebRtcTransport,
    events: DataChannelEvents,
    log: Logger,
  ): Promise<SctpDataChannel> {
    const direct = await router.createDirectTransport();
    const dc = new SctpDataChannel(transport, direct, events, log);
    try {
      for (const streamId of LISTEN_STREAMS) {
        const producer = await transport.produceData({
          sctpStreamParameters: { streamId, ordered: true },
          label: CALLS_DC_LABEL,
        });
        const reader = await direct.consumeData({ dataProducerId: producer.id });
        // mediasoup emits messages in arrival order; handling is chained so
        // that the OPEN (which awaits the worker) is done before the next.
        reader.on("message", (msg, ppid) => {
          if (ppid !== PPID.DCEP && dc.events.admit?.() === false) return;
          dc.chain = dc.chain
            .then(() => dc.onSctpMessage(streamId, msg, ppid))
            .catch((err: unknown) => log.warn("media: data channel message failed", { err: String(err) }));
        });
      }
      dc.idle = await direct.produceData({ label: "rtcd-out" });
    } catch (err) {
      direct.close();
      throw err;
    }
    return dc;
  }

  get isOpen(): boolean {
    return this.out !== undefined && !this.closed;
  }

  // Sends a calls-dc message; false when the channel is not open (yet).
  send(data: string | Buffer): boolean {
    const out = this.out;
    if (!out || this.closed || out.closed) return false;
    const ppid =
      typeof data === "string"
        ? data.length
          ? PPID.String
          : PPID.StringEmpty
        : data.length
          ? PPID.Binary
          : PPID.BinaryEmpty;
    out
      .send(data, ppid)
      .catch((err: unknown) => this.log.debug("media: dc send failed", { err: String(err) }));
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Closing the DirectTransport closes what hangs off it (our readers and
    // the idle producer, and with it the SCTP consumers); the transport's
    // own close takes the DataProducers.
    this.direct.close();
  }

  private async onSctpMessage(streamId: number, msg: Buffer, ppid: number): Promise<void> {
    if (this.closed) return;
    if (ppid === PPID.DCEP) {
      const open = parseDcepOpen(msg);
      if (open) return this.onOpen(streamId, open.label);
      if (!isDcepAck(msg)) this.log.debug("media: unknown DCEP message", { streamId, type: msg[0] });
      return;
    }
    if (streamId !== this.streamId) {
      this.log.debug("media: data channel message on a stream that was not opened", { streamId });
      return;
    }
    if (ppid === PPID.String) return this.events.message(msg.toString("utf8"));
    if (ppid === PPID.StringEmpty) return this.events.message("");
    if (ppid === PPID.BinaryEmpty) return this.events.message(Buffer.alloc(0));
    return this.events.message(msg);
  }

  private async onOpen(streamId: number, label: string): Promise<void> {
    if (this.streamId !== undefined) {
      // A second channel is not something the Calls client opens: only the
      // first one carries messages, the other stays unacknowledged.
      this.log.debug("media: ignoring a second data channel", { streamId, label });
      return;
    }
    if (!this.idle) return;
    this.streamId = streamId;
    let out: ms.DataConsumer | undefined;
    // mediasoup hands out outgoing stream IDs from 0 upwards.
    for (let i = 0; i <= streamId + 1 && !out; i++) {
      const c = await this.transport.consumeData({ dataProducerId: this.idle.id });
      if (c.sctpStreamParameters?.streamId === streamId) out = c;
      else this.placeholders.push(c);
    }
    if (!out) throw new Error(`could not get SCTP stream ${streamId} for the data channel`);
    if (this.closed) return;
    this.out = out;
    await out.send(DCEP_ACK_MESSAGE, PPID.DCEP);
    this.log.debug("media: data channel open", { streamId, label });
    this.events.open(label);
  }
}
