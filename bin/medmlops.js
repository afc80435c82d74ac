#!/usr/bin/env node
// Entry point of the one CLI. A built image runs the compiled JavaScript in dist/; a source checkout
// (npm ci, no build) runs the TypeScript through tsx so `npx medmlops` works on a fresh clone.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (existsSync(compiled)) {
  const { runCli } = await import(pathToFileURL(compiled).href);
  await runCli();
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { runCli } = await import(new URL("../cli/main.ts", import.meta.url).href);
  await runCli();
}
