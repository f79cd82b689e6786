import { defineConfig } from "vitest/config";

// The tiers: unit (pure, no cluster); integration (a real local API server,
// real helm, the operator's processes); media (rtcd against real WebRTC
// peers, Mattermost's rtcd and a real Mattermost: no cluster); e2e (whole
// user journeys on the local cluster's real nodes); kind (a kind cluster of
// its own); alone (files whose assertions read the host's CPU load, so nothing
// else may run beside them).
//
// Within a tier files run one at a time: integration and e2e share one
// cluster (rtcd pods hold host ports), media files start real-time media
// that a second file would starve. Across tiers, `npm test` (scripts/test.ts)
// runs two lanes at once, because each leaves most of the 2-core machine
// idle while it waits on a cluster, a call or a timer: the cluster lane
// (integration, then e2e) and the local lane (unit, media, then kind), then
// alone. A plain `vitest run` pairs the tiers the same way through
// groupOrder (the projects of one group side by side), without the lanes.
const alone = ["rtcd/test/mattermost-load.int.test.ts"];
const common = { exclude: ["**/node_modules/**"], fileParallelism: false };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          sequence: { groupOrder: 0 },
          include: ["{operator,rtcd,e2e,scripts}/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/*.int.test.ts", "**/*.e2e.test.ts", "**/*.kind.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          ...common,
          name: "integration",
          sequence: { groupOrder: 1 },
          include: ["{operator,e2e}/**/*.int.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          globalSetup: ["e2e/src/testing/global-setup.ts"],
        },
      },
      {
        test: {
          ...common,
          name: "media",
          sequence: { groupOrder: 1 },
          include: ["rtcd/**/*.int.test.ts"],
          exclude: [...common.exclude, ...alone],
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          ...common,
          name: "e2e",
          sequence: { groupOrder: 2 },
          include: ["e2e/**/*.e2e.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          globalSetup: ["e2e/src/testing/global-setup.ts"],
        },
      },
      {
        test: {
          // A kind cluster of its own (created and deleted by the file, see
          // e2e/test/kind); it shares nothing with the local cluster.
          ...common,
          name: "kind",
          sequence: { groupOrder: 2 },
          include: ["e2e/**/*.kind.test.ts"],
          testTimeout: 300_000,
          // Its setup may build kind and kubeadm on a fresh machine.
          hookTimeout: 1_800_000,
        },
      },
      {
        test: {
          ...common,
          name: "alone",
          sequence: { groupOrder: 3 },
          include: alone,
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
