// Where the mediasoup worker binary is: MEDIASOUP_WORKER_BIN, else the cache
// that rtcd/worker-build/build-worker.sh fills. mediasoup's own postinstall
// build is not used (it downloads), so there is no third place.
import { accessSync, constants, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export function mediasoupVersion(): string {
  const require = createRequire(import.meta.url);
  // The package's "exports" hide package.json; its main file sits in node/lib.
  const main = require.resolve("mediasoup");
  const pkg = join(dirname(main), "..", "..", "package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}

export function cachedWorkerPath(env: NodeJS.ProcessEnv = process.env): string {
  const root = env["MMRTCD_CACHE_DIR"] || join(env["HOME"] || homedir(), ".cache", "mattermost-rtcd");
  return join(root, `mediasoup-worker-${mediasoupVersion()}`, "mediasoup-worker");
}

export class WorkerBinaryMissing extends Error {}

export function resolveWorkerBin(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env["MEDIASOUP_WORKER_BIN"];
  const cached = cachedWorkerPath(env);
  const candidate = explicit || cached;
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    throw new WorkerBinaryMissing(
      `mediasoup worker binary not found: MEDIASOUP_WORKER_BIN is ${
        explicit ? `"${explicit}" (not an executable file)` : "not set"
      } and ${cached} does not exist. Build it with \`bash rtcd/worker-build/build-worker.sh\` ` +
        `or set MEDIASOUP_WORKER_BIN to a mediasoup ${mediasoupVersion()} worker.`,
    );
  }
}

// Each of our worker patches (rtcd/worker-build/patches) leaves its string
// in the binary, and rtcd starts only a worker that has them all: a stock
// mediasoup worker writes header extension IDs that browsers misread (they
// drop every forwarded video packet), and one built before patch 0002 may
// keep a viewer without a bandwidth estimate on a simulcast sender's low
// layer for good.
export const WORKER_PATCH_MARKERS: readonly string[] = [
  "mattermost-rtcd-patches: consumer-header-extension-ids",
  "mattermost-rtcd-patches: simulcast-recheck-layers-on-capture-mapping",
];

export class WorkerBinaryUnpatched extends Error {}

export function assertPatchedWorker(path: string): void {
  const bin = readFileSync(path);
  const missing = WORKER_PATCH_MARKERS.filter((m) => !bin.includes(m));
  if (missing.length === 0) return;
  throw new WorkerBinaryUnpatched(
    `mediasoup worker ${path} was built without rtcd's patches (rtcd/worker-build/patches; ` +
      `missing: ${missing.map((m) => m.replace("mattermost-rtcd-patches: ", "")).join(", ")}), ` +
      "so browsers might receive no video or only a simulcast sender's low layer from it. Build it with " +
      "`bash rtcd/worker-build/build-worker.sh` (or the rtcd image), or point MEDIASOUP_WORKER_BIN at such a build.",
  );
}
