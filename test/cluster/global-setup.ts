// vitest globalSetup for the `integration` project: makes sure the real control plane is up (building it from Go
// modules first when the binaries are missing or stale — a cold build takes tens of minutes) and hands the
// kubeconfig path to tests via `inject("kubeconfig")` and the MEDMLOPS_KUBECONFIG environment variable.
// A cluster that was already running is left running; one this setup started is stopped at teardown unless
// MEDMLOPS_KEEP_CLUSTER=1.
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
    if (r.started && process.env.MEDMLOPS_KEEP_CLUSTER !== "1") await down({ log });
  };
}
