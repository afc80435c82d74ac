/**
 * One storage interface over two engines: PGlite (Postgres compiled to WebAssembly, in-process, data in a
 * directory) and PostgreSQL through `pg`. Everything above this file writes plain PostgreSQL and never asks
 * which engine it runs on, so the same schema, SQL and tests hold for both.
 *
 * Type rule (why the SQL casts): `pg` returns int8/bigint and numeric as strings, PGlite does not; callers
 * therefore cast counts to `::int`/`::float8` in SQL and read timestamps as `Date` (both engines agree there).
 */
export interface QueryResult<T> {
  rows: T[];
  /** Rows inserted, updated or deleted by the statement (0 for SELECT on some engines: count rows instead). */
  rowCount: number;
}

export interface Queryable {
  /** One statement with `$1`-style parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * `COPY table (columns) FROM` the given data in COPY text format (copy-text.ts); resolves to the rows copied.
   * Optional: only PGlite offers it today (its `/dev/blob`); callers keep an INSERT path for engines without it.
   * COPY has no ON CONFLICT: a duplicate key fails the whole statement.
   */
  copyIn?(table: string, columns: readonly string[], text: string): Promise<number>;
}

export interface Db extends Queryable {
  readonly engine: "pglite" | "postgres";
  /**
   * Every statement and transaction runs alone (PGlite: one connection, serialised by PGlite): inside a
   * transaction, nothing another request does can come between a read and a write. False on PostgreSQL.
   */
  readonly serialized: boolean;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
