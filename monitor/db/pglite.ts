import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { PGLITE_SETTINGS, settingsStartParams } from "./pglite-settings.ts";
import type { Db, Queryable, QueryResult } from "./types.ts";

/**
 * The embedded engine. PGlite is a single connection: statements and transactions are serialised by
 * PGlite itself, which is what a one-replica monitor on a PVC needs. `dataDir` undefined = in memory (tests).
 * `settings` (default PGLITE_SETTINGS) are passed as `-c` start parameters after PGlite's own.
 */
export async function openPglite(
  dataDir: string | undefined,
  settings: Readonly<Record<string, string>> = PGLITE_SETTINGS,
): Promise<Db> {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const startParams = [...PGlite.defaultStartParams, ...settingsStartParams(settings)];
  const options = { ...(dataDir === undefined ? {} : { dataDir }), startParams };
  if (dataDir !== undefined && !existsSync(join(dataDir, "PG_VERSION"))) {
    // A new database: initdb runs in WebAssembly inside this instance and leaves ~750 MB resident that the
    // instance never gives back. Closed, collected (jest's leak detector gets `gc` the same way) and opened
    // again, the process runs at ~400 MB instead of ~760 (docs/benchmarks.md, "Monitor memory"). Without the
    // explicit collections V8 kept most of it: ~710 MB.
    await (await PGlite.create(options)).close();
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // twice, a turn apart: the first collection finalises the instance, the second frees what that released
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
  }
  const pg = await PGlite.create(options);
  return new PgliteDb(pg);
}

function wrap(q: PGlite | Transaction): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const r = await q.query<T>(sql, params as unknown[]);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await q.exec(sql);
    },
    async copyIn(table: string, columns: readonly string[], text: string): Promise<number> {
      // identifiers come from the caller's code, never from a request
      const r = await q.query(`COPY ${table} (${columns.join(", ")}) FROM '/dev/blob'`, [], {
        blob: new Blob([text]),
      });
      return r.affectedRows ?? 0;
    },
  };
}

class PgliteDb implements Db {
  readonly engine = "pglite" as const;
  readonly serialized = true;
  readonly #pg: PGlite;
  readonly #q: Queryable;
  constructor(pg: PGlite) {
    this.#pg = pg;
    this.#q = wrap(pg);
  }
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    return this.#q.query<T>(sql, params);
  }
  exec(sql: string): Promise<void> {
    return this.#q.exec(sql);
  }
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#pg.transaction((tx) => fn(wrap(tx)));
  }
  async close(): Promise<void> {
    if (!this.#pg.closed) await this.#pg.close();
  }
}
