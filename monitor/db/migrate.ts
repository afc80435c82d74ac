import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Db } from "./types.ts";

/**
 * Versioned migrations: `monitor/migrations/NNN_name.sql`, applied in number order at start, each in its own
 * transaction, recorded in `schema_migrations` with the file's sha256. Ranges: 001–049 the ledger (issue 12),
 * 050–099 audit and datasets (issue 14). Several replicas starting at once on one PostgreSQL serialise on an
 * advisory lock. An applied file that was edited afterwards stops the start (a schema must never differ
 * silently between two hospitals); add a new migration instead.
 */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/", import.meta.url));
const FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
const LOCK_KEY = 0x6d6f6e69; // "moni"

export interface Migration {
  version: number;
  name: string;
  sql: string;
  sha256: string;
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = FILE.exec(file);
    if (!m) continue;
    const sql = readFileSync(`${dir}/${file}`, "utf8");
    out.push({
      version: Number(m[1]),
      name: m[2]!,
      sql,
      sha256: createHash("sha256").update(sql).digest("hex"),
    });
  }
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.version === out[i - 1]!.version) {
      throw new Error(`two migrations numbered ${out[i]!.version}: ${out[i - 1]!.name}, ${out[i]!.name}`);
    }
  }
  return out;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

/** Applies the missing migrations; returns the versions applied by this call. */
export async function migrate(db: Db, migrations: Migration[] = loadMigrations()): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version int PRIMARY KEY,
    name text NOT NULL,
    sha256 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
      const { rows } = await tx.query<{ sha256: string }>(
        "SELECT sha256 FROM schema_migrations WHERE version = $1",
        [m.version],
      );
      if (rows[0]) {
        if (rows[0].sha256 !== m.sha256) {
          throw new MigrationError(
            `migration ${m.version}_${m.name} changed after it was applied; add a new migration instead`,
          );
        }
        return false;
      }
      await tx.exec(m.sql);
      await tx.query("INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)", [
        m.version,
        m.name,
        m.sha256,
      ]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}
