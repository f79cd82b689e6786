// Benchmark: the media plane's offer path (parse, codec choice, SSRC
// lookups, RTP parameters; see test/support/hostile-sdp.ts) on 256 KB
// offers crafted for the most work per byte, and on the largest offer
// within every limit. Prints one JSON line per offer: median and worst of
// the runs (the main thread's CPU time, see timeMs), the median wall time,
// and what the parser said (refused offers cost their refusal).
//
//   node rtcd/bench/sdp.ts [--runs 5]
import { parseArgs } from "node:util";
import {
  hostileOffer,
  largestLegalOffer,
  parseAndMap,
  timeMs,
  wallMs,
  type HostileKind,
} from "../test/support/hostile-sdp.ts";
import { parseSdp } from "../src/media/sdp.ts";
import * as sdp from "../src/media/sdp.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);

function measure(name: string, offer: string): void {
  let result = "parsed";
  try {
    parseSdp(offer);
  } catch (err) {
    result = `refused: ${(err as Error).message}`;
  }
  const times = Array.from({ length: runs }, () => timeMs(() => parseAndMap(offer))).sort((a, b) => a - b);
  const wall = Array.from({ length: runs }, () => wallMs(() => parseAndMap(offer))).sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  process.stdout.write(
    JSON.stringify({
      offer: name,
      bytes: offer.length,
      cpuMedianMs: r(times[runs >> 1]!),
      cpuWorstMs: r(times.at(-1)!),
      wallMedianMs: r(wall[runs >> 1]!),
      result,
    }) + "\n",
  );
}

const kinds: HostileKind[] = ["codecs", "formats", "ssrcs", "extensions", "rids", "feedback", "sections"];
for (const k of kinds) measure(k, hostileOffer(k));
// The limits as the parser has them (absent before they existed).
const limits = (sdp as { SDP_LIMITS?: Parameters<typeof largestLegalOffer>[0] }).SDP_LIMITS;
if (limits) measure("largest legal", largestLegalOffer(limits));
