// vitest globalSetup for the `containers` project: the real image, run by runc. Checks the prerequisites (root,
// runc, umoci, mmdebstrap) and runs `npm run image`, a no-op when the image is up to date with the sources.
// A missing prerequisite fails the run with the script that installs it — never a silent skip.
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SETUP_HINT } from "./runc.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

export default function setup(): void {
  if (process.getuid?.() !== 0)
    throw new Error(`the containers tests run real containers and need root; ${SETUP_HINT}`);
  const missing = ["runc", "umoci", "mmdebstrap"].filter((c) => !have(c));
  if (missing.length > 0) throw new Error(`missing ${missing.join(", ")}: ${SETUP_HINT}`);
  console.error("[image] npm run image (a no-op when the image is up to date; a first build takes minutes)");
  execFileSync("bash", ["scripts/image/build.sh"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
}
