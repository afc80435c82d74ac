import pg from "pg";
import type { Db, Queryable, QueryResult } from "./types.ts";

/** The production engine: a connection pool to PostgreSQL (CloudNativePG, a managed server, Debian's). */
export async function openPostgres(url: string, opts: { maxConnections?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 8 });
  // An idle client that loses its server must not crash the process; the next query reports the error.
  pool.on("error", () => {});
  const client = await pool.connect(); // fail fast on a wrong URL or an unreachable server
  client.release();
  return new PostgresDb(pool);
}

function wrap(q: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const r = await q.query(sql, params as unknown[]);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await q.query(sql); // no parameters: the simple protocol runs several statements
    },
  };
}

class PostgresDb implements Db {
  readonly engine = "postgres" as const;
  readonly serialized = false;
  readonly #pool: pg.Pool;
  readonly #q: Queryable;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#q = wrap(pool);
  }
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    return this.#q.query<T>(sql, params);
  }
  exec(sql: string): Promise<void> {
    return this.#q.exec(sql);
  }
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const out = await fn(wrap(client));
      await client.query("COMMIT");
      return out;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
  async close(): Promise<void> {
    await this.#pool.end();
  }
}
