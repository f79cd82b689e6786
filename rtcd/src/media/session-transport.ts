// A session's WebRtcTransport: how it is created, and how its ICE and DTLS
// states count in the metrics and end the session, and how its consumers count.
import type { types as ms } from "mediasoup";
import type { Metrics, RtcErrorType } from "../metrics.ts";
import { trackMime } from "./codecs.ts";
import type { SessionPlaceable } from "./worker-load.ts";

export function createTransport(router: ms.Router, server: ms.WebRtcServer): Promise<ms.WebRtcTransport> {
  return router.createWebRtcTransport({
    webRtcServer: server,
    enableUdp: true,
    enableTcp: true,
    preferUdp: true,
    // Without consent checks for this long ICE is "disconnected"; with the
    // grace below a vanished client is ended after about 25 s, close to
    // rtcd's (pion's 5 s disconnected + 25 s failed).
    iceConsentTimeout: 20,
    enableSctp: true,
    initialAvailableOutgoingBitrate: 1_000_000,
  });
}

// A consumer of the session's transport, while it is open: in
// rtcd_rtp_tracks (rtcd labels tracks with their MIME type, audio/opus,
// video/VP8) and in its worker's consumers, which placing sessions reads.
export function countConsumer(
  consumer: ms.Consumer,
  metrics: Metrics,
  groupID: string,
  worker: SessionPlaceable,
): void {
  const labels = { groupID, direction: "out", type: trackMime(consumer.rtpParameters) };
  metrics.rtpTracks.inc(labels);
  worker.consumers++;
  consumer.observer.once("close", () => {
    metrics.rtpTracks.dec(labels);
    worker.consumers--;
  });
}

export interface TransportWatch {
  metrics: Metrics;
  groupID: string;
  createdAt: number;
  iceDisconnectTimeoutMs: number;
  // How long from the transport's creation until DTLS must be connected.
  connectTimeoutMs: number;
  // The session keeps its timers, to clear them when it closes.
  timer(t: NodeJS.Timeout): void;
  connected(): void;
  fail(type: RtcErrorType, reason: string): void;
}

export function watchTransport(t: ms.WebRtcTransport, w: TransportWatch): void {
  const { metrics } = w;
  let disconnectTimer: NodeJS.Timeout | undefined;
  // A client that offers but never connects (gone, or unable to reach us)
  // would otherwise keep its session, and a draining pod, for ever: rtcd's
  // pion fails it after its ICE timeouts.
  const connectTimer = setTimeout(() => {
    const stage = t.iceState === "connected" || t.iceState === "completed" ? "dtls" : "ice";
    // The pair mediasoup sends on, so that a stall after ICE says which
    // address its DTLS went to (a client may have nominated another).
    const tp = t.iceSelectedTuple;
    const pair = tp
      ? `, pair ${tp.protocol} ${tp.localAddress}:${tp.localPort} -> ${tp.remoteIp}:${tp.remotePort}`
      : "";
    w.fail(
      stage,
      `not connected within ${w.connectTimeoutMs / 1000} s (ICE ${t.iceState}, DTLS ${t.dtlsState}${pair})`,
    );
  }, w.connectTimeoutMs);
  w.timer(connectTimer);
  t.on("icestatechange", (state) => {
    if (state === "connected" || state === "completed") {
      clearTimeout(disconnectTimer);
      disconnectTimer = undefined;
    } else if (state === "disconnected" && !disconnectTimer) {
      metrics.rtcConnStates.inc({ type: "disconnected" });
      disconnectTimer = setTimeout(
        () => w.fail("ice", "ICE disconnected for too long"),
        w.iceDisconnectTimeoutMs,
      );
      w.timer(disconnectTimer);
    }
  });
  t.on("dtlsstatechange", (state) => {
    if (state === "connected") {
      clearTimeout(connectTimer);
      metrics.rtcConnStates.inc({ type: "connected" });
      metrics.rtcConnectionTime.observe({ groupID: w.groupID }, (Date.now() - w.createdAt) / 1000);
      w.connected();
    } else if (state === "failed" || state === "closed") {
      metrics.rtcConnStates.inc({ type: state });
      w.fail("dtls", `DTLS ${state}`);
    }
  });
}
