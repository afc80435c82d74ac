import { defineConfig } from "vitest/config";

// The real node real-0 (test/cluster/real-node.ts) is opt-in on a developer's machine, so a shared kwok cluster
// is not changed by accident; CI always runs it (docs/testing.md "The real node").
const realNode = process.env.MEDMLOPS_REAL_NODE === "1" || process.env.CI === "true";

// Three projects: `unit` needs nothing but Node; `integration` needs the real control plane that
// test/cluster/ builds and starts (its global setup brings it up or reuses a running one); `containers` runs the
// project's real image with runc (root; its global setup builds the image with `npm run image`).
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
      {
        // The project's OCI image run by runc (root, Debian runc/umoci/mmdebstrap): docs/image.md.
        test: {
          name: "containers",
          include: [
            "test/containers/image-*.test.ts",
            ...(realNode ? ["test/containers/real-node-*.test.ts"] : []),
          ],
          globalSetup: ["test/containers/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
