// Consumers' RTP header extensions numbered with the client's IDs.
//
// mediasoup gives a consumer its router's extension IDs (abs-send-time 4,
// transport-cc 5, ssrc-audio-level 6...), but a Calls client made the first
// offer and fixed its own for the BUNDLE group (Chrome: 1 ssrc-audio-level,
// 2 abs-send-time, 3 transport-cc, 4 MID). Our worker patch
// (worker-build/patches) sends each consumer's packets with the IDs in that
// consumer's RTP parameters; this puts the client's IDs there, so a browser
// viewer gets transport-cc with its own ID, answers with feedback, and
// mediasoup estimates its downlink bandwidth (and picks simulcast layers by
// it) as rtcd does.
//
// mediasoup computes a consumer's RTP parameters in getConsumerRtpParameters
// (exported as "mediasoup/ortc"), synchronously inside Transport.consume(),
// from the capabilities passed to consume(). consumerCaps() marks each
// extension with the ID the client uses (`clientId`); the wrapper installed
// here renumbers with it. It only renumbers what carries a clientId.
import { createRequire } from "node:module";
import type { types as ms } from "mediasoup";

export interface ClientHeaderExtension extends ms.RtpHeaderExtension {
  clientId: number;
}

type GetConsumerRtpParameters = (args: {
  consumableRtpParameters: ms.RtpParameters;
  remoteRtpCapabilities: ms.RtpCapabilities;
  pipe: boolean;
  enableRtx: boolean;
}) => ms.RtpParameters;

const WRAPPED = Symbol.for("mattermost-rtcd.consumer-ext-ids");

type OrtcModule = { getConsumerRtpParameters: GetConsumerRtpParameters } & { [WRAPPED]?: true };

/** `params` with its extensions renumbered by the clientId `caps` carries. */
export function renumber(params: ms.RtpParameters, caps: ms.RtpCapabilities): ms.RtpParameters {
  const kind = params.codecs[0]?.mimeType.split("/")[0]?.toLowerCase();
  const ids = new Map<string, number>();
  for (const e of caps.headerExtensions ?? []) {
    const id = (e as Partial<ClientHeaderExtension>).clientId;
    if (typeof id === "number" && e.kind === kind) ids.set(e.uri, id);
  }
  if (ids.size === 0) return params;
  return {
    ...params,
    headerExtensions: (params.headerExtensions ?? []).map((e) => ({ ...e, id: ids.get(e.uri) ?? e.id })),
  };
}

export function installConsumerExtensionIds(): void {
  const ortc = createRequire(import.meta.url)("mediasoup/ortc") as OrtcModule;
  if (ortc[WRAPPED]) return;
  const original = ortc.getConsumerRtpParameters;
  if (typeof original !== "function")
    throw new Error(
      "mediasoup/ortc has no getConsumerRtpParameters: this mediasoup version is not supported",
    );
  const wrapped: GetConsumerRtpParameters = (args) => renumber(original(args), args.remoteRtpCapabilities);
  ortc.getConsumerRtpParameters = wrapped;
  if (ortc.getConsumerRtpParameters !== wrapped)
    throw new Error("could not hook mediasoup's getConsumerRtpParameters");
  ortc[WRAPPED] = true;
}
