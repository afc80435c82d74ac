import { defineConfig } from "vitest/config";

// Two projects: `unit` needs nothing but Node; `integration` needs the real control plane that
// test/cluster/ builds and starts (its global setup brings it up or reuses a running one).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "{cli,common,crds,operator,inference-sidecar,deid,monitor,retrain,bench}/**/*.test.ts",
            "test/unit/**/*.test.ts",
          ],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/cluster/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
