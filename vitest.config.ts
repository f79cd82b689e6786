import { defineConfig } from "vitest/config";

// Three tiers: unit (pure, no cluster), integration (a real local API server,
// real helm, real rtcd peers) and e2e (whole user journeys on a cluster).
// Integration and e2e files run one at a time: they share a 2-core machine
// and one cluster, and parallel files only make them flakier, not faster.
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
          name: "integration",
          // Tiers that share the cluster run one after the other, never together:
          // rtcd pods hold host ports, so two files' instances would compete for nodes.
          sequence: { groupOrder: 1 },
          include: ["{operator,rtcd,e2e}/**/*.int.test.ts"],
          exclude: ["**/node_modules/**"],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
          globalSetup: ["e2e/src/testing/global-setup.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          sequence: { groupOrder: 2 },
          include: ["e2e/**/*.e2e.test.ts"],
          exclude: ["**/node_modules/**"],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
          globalSetup: ["e2e/src/testing/global-setup.ts"],
        },
      },
      {
        test: {
          // A kind cluster of its own (created and deleted by the file, see
          // e2e/test/kind), after the tiers that share the local cluster.
          name: "kind",
          sequence: { groupOrder: 3 },
          include: ["e2e/**/*.kind.test.ts"],
          exclude: ["**/node_modules/**"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
