// Monitor ingest only, where the time goes (docs/benchmarks.md, "Ingest (session 7)"):
//   npx tsx bench/monitor-ingest.bench.ts [--engine pglite|postgres] [--records 50000] [--hours 7] [--statements]
//     [--concurrency 1]
// The set-up of bench/monitor.bench.ts (a policy with 5 % sampling, a reference frozen from 5,000 records), then
// --records records in batches of 500, generated before the clock starts and posted through HTTP one batch at a
// time, or by --concurrency senders at once (as several sidecars post; batches taken in order). --hours spreads them over that many hourly buckets (1,000,000 records over 144 h ≈ 7,000 an hour; 50,000
// over 7 h keeps that density). Prints records/s and CPU per 1,000 records: this process (monitor, client and
// PGlite; and of its main thread alone) and, on PostgreSQL, the database's backends (from /proc). --statements adds each ingest statement's
// wall and CPU time (CPU of this process while it ran: meaningful on PGlite, where the engine runs in-process).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Queryable } from "../monitor/db/index.ts";
import { type StartedMonitor, startMonitor } from "../monitor/testing/index.ts";
import { freezeSyntheticReference, ingestBenchBatch, ingestBenchPolicy } from "./monitor-reference.ts";
import type { MonitorRecord } from "../monitor/wire.ts";
import { freshPostgresDatabase, type TestDatabase } from "../test/support/postgres.ts";

const { values } = parseArgs({
  options: {
    engine: { type: "string", default: "pglite" },
    records: { type: "string", default: "50000" },
    hours: { type: "string", default: "7" },
    statements: { type: "boolean", default: false },
    concurrency: { type: "string", default: "1" },
  },
});
const N = Number(values.records);
const SPAN = Number(values.hours) * 3_600_000;
const NOW = new Date("2026-12-04T12:00:00Z");
const BATCH = 500;
const CONCURRENCY = Number(values.concurrency);
const ns = "bench";
const model = "big";

let database: TestDatabase | undefined;
let m: StartedMonitor;
if (values.engine === "pglite") m = await startMonitor({ now: () => NOW });
else {
  database = await freshPostgresDatabase();
  m = await startMonitor({ databaseUrl: database.url, now: () => NOW });
}

await m.client.putPolicy(ns, model, ingestBenchPolicy(model, { bySite: true }));
await freezeSyntheticReference(m, { namespace: ns, model, now: NOW, spanMs: SPAN });

const batches: MonitorRecord[][] = [];
for (let i = 0; i < N; i += BATCH)
  batches.push(ingestBenchBatch({ i, n: N, batch: BATCH, namespace: ns, model, now: NOW, spanMs: SPAN }));

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
/** CPU of this process's main thread (monitor, client and PGlite run there; GC helpers and compilers do not), ms. */
function mainThreadCpuMs(): number {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // utime + stime in clock ticks (100 Hz)
}
const statements = new Map<string, { n: number; wallMs: number; cpuMs: number }>();
function count(key: string, wall0: number, cpu0: number): void {
  const e = statements.get(key) ?? { n: 0, wallMs: 0, cpuMs: 0 };
  e.n += 1;
  e.wallMs += performance.now() - wall0;
  e.cpuMs += cpuMs() - cpu0;
  statements.set(key, e);
}
if (values.statements) {
  const db = m.ctx.db;
  const timed = (q: Queryable): Queryable => ({
    async query(sql, params) {
      const [w, c] = [performance.now(), cpuMs()];
      try {
        return await q.query(sql, params);
      } finally {
        count(sql.replace(/\s+/g, " ").trim().slice(0, 60), w, c);
      }
    },
    async exec(sql) {
      const [w, c] = [performance.now(), cpuMs()];
      try {
        await q.exec(sql);
      } finally {
        count(`(exec) ${sql.slice(0, 50)}`, w, c);
      }
    },
    ...(q.copyIn
      ? {
          async copyIn(table: string, columns: readonly string[], text: string) {
            const [w, c] = [performance.now(), cpuMs()];
            try {
              return await q.copyIn!(table, columns, text);
            } finally {
              count(`(copy) ${table}`, w, c);
            }
          },
        }
      : {}),
  });
  m.ctx.db = Object.assign(Object.create(db) as typeof db, timed(db), {
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => db.transaction((tx) => fn(timed(tx))),
  });
}

/** CPU of the database's server processes (PostgreSQL on this machine), in ms; 0 on PGlite. */
async function backendCpuMs(): Promise<number> {
  if (!database) return 0;
  const { rows } = await m.db.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()",
  );
  let ms = 0;
  for (const { pid } of rows) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ms += (Number(f[11]) + Number(f[12])) * 10; // utime + stime in clock ticks (100 Hz)
    } catch {
      // a backend that ended meanwhile
    }
  }
  return ms;
}

const backend0 = await backendCpuMs();
const cpu0 = cpuMs();
const main0 = mainThreadCpuMs();
const wall0 = performance.now();
let next = 0;
async function sender(): Promise<void> {
  while (next < batches.length) {
    const b = batches[next++]!;
    const r = await m.client.postRecords(b);
    if (r.accepted !== b.length) throw new Error(`ingest lost records: ${JSON.stringify(r).slice(0, 200)}`);
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, sender));
const seconds = (performance.now() - wall0) / 1000;
const perK = (ms: number) => Math.round(ms / (N / 1000));
console.log(
  JSON.stringify({
    engine: values.engine,
    records: N,
    concurrency: CONCURRENCY,
    seconds: Number(seconds.toFixed(2)),
    recordsPerSecond: Math.round(N / seconds),
    processCpuMsPer1000: perK(cpuMs() - cpu0),
    mainThreadCpuMsPer1000: perK(mainThreadCpuMs() - main0),
    serverCpuMsPer1000: perK((await backendCpuMs()) - backend0),
  }),
);
for (const [k, e] of [...statements].sort((a, b) => b[1].wallMs - a[1].wallMs))
  console.log(
    JSON.stringify({ statement: k, calls: e.n, wallMsPer1000: perK(e.wallMs), cpuMsPer1000: perK(e.cpuMs) }),
  );
await m.stop();
await database?.drop();
