import type { Logger } from "pino";
import type { Db } from "./db/index.ts";
import type { MonitorMetrics } from "./metrics.ts";

/** What every route module gets: storage, logging, metrics and the clock (injected for tests). */
export interface MonitorContext {
  db: Db;
  log: Logger;
  metrics: MonitorMetrics;
  now: () => Date;
  /** Raw records older than this many days are deleted (retention.ts); undefined = kept until erased. */
  retentionDays?: number | undefined;
}
