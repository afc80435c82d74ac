// vitest globalSetup for the `containers` project: the real image, run by runc, and (with MEDMLOPS_REAL_NODE=1 or
// CI=true) the real node real-0 beside the kwok ones. Checks the prerequisites (root, runc, umoci, mmdebstrap),
// runs `npm run image` (a no-op when the image is up to date with the sources), then brings up the control plane
// and real-0 (test/cluster/real-node.ts), importing the image as localhost/medmlops:dev. A missing prerequisite
// fails the run with the script that installs it — never a silent skip.
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { realNodeWanted, up } from "../cluster/launcher.ts";
import { downRealNode, realNodeUnsupported } from "../cluster/real-node.ts";
import { SETUP_HINT } from "./runc.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0)
    throw new Error(`the containers tests run real containers and need root; ${SETUP_HINT}`);
  const missing = ["runc", "umoci", "mmdebstrap"].filter((c) => !have(c));
  if (missing.length > 0) throw new Error(`missing ${missing.join(", ")}: ${SETUP_HINT}`);
  console.error("[image] npm run image (a no-op when the image is up to date; a first build takes minutes)");
  execFileSync("bash", ["scripts/image/build.sh"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  const realNode = realNodeWanted(process.env.CI === "true" ? true : undefined);
  if (!realNode) return async () => undefined;
  const log = (m: string) => console.error(`[cluster] ${m}`);
  const r = await up({ log, realNode: true });
  const why = realNodeUnsupported();
  if (why) throw new Error(`the real node cannot run here: ${why}`);
  process.env.MEDMLOPS_KUBECONFIG = r.kubeconfig;
  project.provide("kubeconfig", r.kubeconfig);
  return async () => {
    // Under CI the real node is stopped here and must leave the host as it found it.
    if (process.env.CI !== "true" && process.env.MEDMLOPS_CLUSTER_TEARDOWN !== "1") return;
    const diff = await downRealNode({ log });
    if (diff.length > 0) throw new Error(`the real node left host changes behind:\n${diff.join("\n")}`);
  };
}
