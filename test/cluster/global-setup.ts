// vitest globalSetup for the `integration` project: makes sure the real control plane is up (building it from Go
// modules first when the binaries are missing or stale — a cold build takes tens of minutes) and hands the
// kubeconfig path to tests via `inject("kubeconfig")` and the MEDMLOPS_KUBECONFIG environment variable.
// The cluster is left running afterwards (later runs reuse it in a second; other engineers' runs may be using
// it). Under CI (CI=true) or with MEDMLOPS_CLUSTER_TEARDOWN=1, a cluster this setup started is stopped at the end.
import type { TestProject } from "vitest/node";
import { down, up } from "./launcher.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (m: string) => console.error(`[cluster] ${m}`);
  log("ensuring the test control plane is up (builds from Go modules first if needed; see docs/testing.md)");
  const r = await up({ log });
  process.env.MEDMLOPS_KUBECONFIG = r.kubeconfig;
  project.provide("kubeconfig", r.kubeconfig);
  return async () => {
    const teardown = process.env.CI === "true" || process.env.MEDMLOPS_CLUSTER_TEARDOWN === "1";
    if (r.started && teardown) await down({ log });
  };
}
