import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

/** Every YAML document under a directory, with the file it came from (for tests and tools). */
export function readManifests(dir: string): { file: string; doc: Record<string, unknown> }[] {
  const out: { file: string; doc: Record<string, unknown> }[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      const doc = d.toJS() as Record<string, unknown> | null;
      if (doc) out.push({ file, doc });
    }
  }
  return out;
}
