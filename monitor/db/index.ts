import { migrate } from "./migrate.ts";
import { PGLITE_SETTINGS } from "./pglite-settings.ts";
import type { Db } from "./types.ts";

export type { Db, Queryable, QueryResult } from "./types.ts";
export { PGLITE_SETTINGS, parsePgliteSettings } from "./pglite-settings.ts";
export { loadMigrations, migrate, MigrationError, MIGRATIONS_DIR } from "./migrate.ts";

export interface StorageOptions {
  /** postgres://… — PostgreSQL through `pg`. Wins over dataDir. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; neither given = PGlite in memory (tests only). */
  dataDir?: string | undefined;
  /** PGlite only: Postgres settings over PGLITE_SETTINGS (`MEDMLOPS_PGLITE_SETTINGS`). */
  pgliteSettings?: Readonly<Record<string, string>> | undefined;
}

/** Opens the configured engine and applies the migrations. Imports each engine lazily. */
export async function openDb(opts: StorageOptions): Promise<Db> {
  const db = opts.databaseUrl
    ? await (await import("./postgres.ts")).openPostgres(opts.databaseUrl)
    : await (await import("./pglite.ts")).openPglite(opts.dataDir, {
        ...PGLITE_SETTINGS,
        ...opts.pgliteSettings,
      });
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
