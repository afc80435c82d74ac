/** The part of the monitor's Db (contract C3) the audit store needs; kept structural so either engine fits. */
export interface SqlDb {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  transaction<R>(fn: (tx: SqlDb) => Promise<R>): Promise<R>;
}
