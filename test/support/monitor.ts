/**
 * The monitor on either engine, for suites that run once per engine:
 *   describe.each(MONITOR_ENGINES)("… (%s)", (engine) => { … await startTestMonitor(engine) … })
 */
import { type StartedMonitor, startMonitor } from "../../monitor/testing/index.ts";
import type { RetentionConfig } from "../../monitor/retention-decision.ts";
import { freshPostgresDatabase } from "./postgres.ts";

export const MONITOR_ENGINES = ["pglite", "postgres"] as const;
export type MonitorEngine = (typeof MONITOR_ENGINES)[number];

export async function startTestMonitor(
  engine: MonitorEngine,
  opts: { now?: () => Date; retention?: RetentionConfig } = {},
): Promise<StartedMonitor> {
  if (engine === "pglite") return startMonitor(opts);
  const database = await freshPostgresDatabase();
  const m = await startMonitor({ ...opts, databaseUrl: database.url });
  return {
    ...m,
    async stop() {
      await m.stop();
      await database.drop();
    },
  };
}
