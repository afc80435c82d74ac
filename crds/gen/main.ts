/**
 * `npm run gen`: writes the CRD YAML (crds/, charts/medmlops/crds/) and the API docs (docs/api/) from the zod
 * schemas. `npm run gen -- --check` writes nothing and exits 1 when a committed file is out of date.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderAll } from "./render.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

async function current(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes("--check");
  const stale: string[] = [];
  for (const [rel, content] of renderAll()) {
    const path = join(root, rel);
    if ((await current(path)) === content) continue;
    stale.push(rel);
    if (!check) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
    }
  }
  if (check && stale.length > 0) {
    process.stderr.write(`out of date (run npm run gen): ${stale.join(", ")}\n`);
    return 1;
  }
  process.stdout.write(check ? "generated files are up to date\n" : `wrote ${stale.length} file(s)\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
