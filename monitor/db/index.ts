import { migrate } from "./migrate.ts";
import type { Db } from "./types.ts";

export type { Db, Queryable, QueryResult } from "./types.ts";
export { loadMigrations, migrate, MigrationError, MIGRATIONS_DIR } from "./migrate.ts";

export interface StorageOptions {
  /** postgres://… — PostgreSQL through `pg`. Wins over dataDir. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; neither given = PGlite in memory (tests only). */
  dataDir?: string | undefined;
}

/** Opens the configured engine and applies the migrations. Imports each engine lazily. */
export async function openDb(opts: StorageOptions): Promise<Db> {
  const db = opts.databaseUrl
    ? await (await import("./postgres.ts")).openPostgres(opts.databaseUrl)
    : await (await import("./pglite.ts")).openPglite(opts.dataDir);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
