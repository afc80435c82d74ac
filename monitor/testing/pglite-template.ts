import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadMigrations } from "../db/index.ts";
import { openPglite } from "../db/pglite.ts";
import { migrate } from "../db/migrate.ts";

/**
 * PGlite runs initdb in WebAssembly when it creates a database: 15–30 s on this machine, against ~2 s to open
 * an existing one. Tests therefore copy a template made once per PGlite version and migration set (kept in the
 * OS temp dir, shared by parallel test files: made in a private dir, then renamed into place).
 */
export async function pgliteTemplateDir(): Promise<string> {
  // the package's exports hide package.json: find it from the entry point
  const entry = fileURLToPath(import.meta.resolve("@electric-sql/pglite"));
  const pkgJson = join(entry.slice(0, entry.lastIndexOf("/dist/")), "package.json");
  const h = createHash("sha256").update(readFileSync(pkgJson));
  for (const m of loadMigrations()) h.update(m.sha256);
  const dir = join(tmpdir(), `medmlops-pglite-template-${h.digest("hex").slice(0, 16)}`);
  if (existsSync(join(dir, "PG_VERSION"))) return dir;
  const work = mkdtempSync(join(tmpdir(), "medmlops-pglite-making-"));
  const db = await openPglite(work);
  await migrate(db);
  await db.close();
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another worker won the race: use its copy
  }
  return dir;
}

/** A fresh PGlite data dir with the schema applied, ready in ~2 s. */
export async function freshPgliteDir(): Promise<string> {
  const template = await pgliteTemplateDir();
  const dir = mkdtempSync(join(tmpdir(), "medmlops-monitor-"));
  cpSync(template, dir, { recursive: true });
  return dir;
}
