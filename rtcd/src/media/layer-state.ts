// What mediasoup itself says about a simulcast viewer whose forwarded layer
// is not the one rtcd chose for it: the consumer's preferred, target and
// current layers (mediasoup switches its current layer at a key frame of its
// target, and only picks a target it can align to the reference stream), its
// scores, whether its transport has a bandwidth estimate, and the
// producer's streams. Logged by SimulcastLayers (layer-control.ts) when a
// viewer stays off its layer, so whoever reads a stuck viewer's log (a
// failing test prints it) sees the system's own decisions.
import type { types as ms } from "mediasoup";

export interface ViewerLayerState {
  paused: boolean;
  producerPaused: boolean;
  preferredSpatialLayer?: number;
  targetSpatialLayer?: number;
  currentSpatialLayer?: number;
  score: number;
  producerScores: number[];
  // The viewer's transport: mediasoup forwards nothing before it is
  // connected (ICE and DTLS), and only one with a BWE (transport-cc or REMB)
  // has an available outgoing bitrate.
  iceState?: string;
  dtlsState?: string;
  availableOutgoingBitrate?: number;
  producerStreams: { rid?: string; ssrc: number; score: number; bitrate: number; packets: number }[];
}

export async function viewerLayerState(
  consumer: ms.Consumer,
  transport: ms.Transport | undefined,
): Promise<ViewerLayerState> {
  const [dump, stats, tstats] = await Promise.all([
    consumer.dump(),
    consumer.getStats(),
    transport ? transport.getStats() : Promise.resolve([]),
  ]);
  const layers = dump as Partial<ms.SimulcastConsumerDump>;
  const t = (tstats as Partial<ms.WebRtcTransportStat>[])[0];
  return {
    paused: dump.paused,
    producerPaused: dump.producerPaused,
    preferredSpatialLayer: layers.preferredSpatialLayer,
    targetSpatialLayer: layers.targetSpatialLayer,
    currentSpatialLayer: layers.currentSpatialLayer,
    score: consumer.score.score,
    producerScores: consumer.score.producerScores,
    ...(t?.iceState !== undefined ? { iceState: t.iceState } : {}),
    ...(t?.dtlsState !== undefined ? { dtlsState: t.dtlsState } : {}),
    ...(t?.availableOutgoingBitrate !== undefined
      ? { availableOutgoingBitrate: t.availableOutgoingBitrate }
      : {}),
    producerStreams: stats
      .filter((s): s is ms.ProducerStat => s.type === "inbound-rtp")
      .map((s) => ({
        ...(s.rid !== undefined ? { rid: s.rid } : {}),
        ssrc: s.ssrc,
        score: s.score,
        bitrate: s.bitrate,
        packets: s.packetCount,
      })),
  };
}
