// A mediasoup worker of the build rtcd runs (patched; see worker-build/),
// for tests that drive mediasoup directly rather than through rtcd.
import * as mediasoup from "mediasoup";
import type { types as ms } from "mediasoup";
import { assertPatchedWorker, resolveWorkerBin } from "../../src/media/worker-bin.ts";

export async function createPatchedWorker(): Promise<ms.Worker> {
  const workerBin = resolveWorkerBin();
  assertPatchedWorker(workerBin);
  return mediasoup.createWorker({ workerBin, logLevel: "warn" });
}
