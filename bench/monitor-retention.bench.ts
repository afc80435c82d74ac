// The retention sweep against ingest (docs/benchmarks.md, "Monitor retention sweep"):
//   npx tsx bench/monitor-retention.bench.ts [--engine pglite|postgres] [--records 200000] [--days 14]
// The monitor in-process with --retention-days 7 (clock injected), the ingest bench's policy and reference,
// --records records spread evenly over the last --days days (so with 14, about half are past the cutoff). Then,
// for the same number of batches each: (1) ingest alone — batches of 500 new records, each POST's latency; (2) the
// same while one sweep runs (sweepNow), until it ends. Prints the sweep's duration, batches, rows deleted, the
// longest single statement of each kind (DELETE of records, of orphan annotations, VACUUM), and the POST latency
// percentiles without and during the sweep.
import { parseArgs } from "node:util";
import type { Queryable } from "../monitor/db/index.ts";
import { type StartedMonitor, startMonitor } from "../monitor/testing/index.ts";
import { syntheticCases } from "../monitor/testing/records.ts";
import { freshPostgresDatabase, type TestDatabase } from "../test/support/postgres.ts";
import { freezeSyntheticReference, ingestBenchPolicy } from "./monitor-reference.ts";

const { values } = parseArgs({
  options: {
    engine: { type: "string", default: "pglite" },
    records: { type: "string", default: "200000" },
    days: { type: "string", default: "14" },
  },
});
const N = Number(values.records);
const DAY = 86_400_000;
const SPAN = Number(values.days) * DAY;
const NOW = new Date("2026-12-05T12:00:00Z");
const BATCH = 500;
const ns = "bench";
const model = "big";

let database: TestDatabase | undefined;
const retention = { days: 7, intervalMs: 365 * DAY };
let m: StartedMonitor;
if (values.engine === "pglite") m = await startMonitor({ now: () => NOW, retention });
else {
  database = await freshPostgresDatabase();
  m = await startMonitor({ databaseUrl: database.url, now: () => NOW, retention });
}
await m.retention!.sweepNow(); // the sweep at start, on an empty ledger

await m.client.putPolicy(ns, model, ingestBenchPolicy(model, { bySite: false }));
// the reference inside the retained window, so the roll-ups exist for everything after it
await freezeSyntheticReference(m, { namespace: ns, model, now: NOW, spanMs: SPAN / 2 });

const batchAt = (i: number, start: Date, span: number, prefix: string) =>
  syntheticCases({
    n: BATCH,
    namespace: ns,
    model,
    start,
    spanMs: span,
    caseIdPrefix: `${prefix}${i}-`,
    seed: 100 + i,
    sites: ["a", "b", "c"],
  }).map((c) => c.record);
const t0 = performance.now();
for (let i = 0; i < N; i += BATCH) {
  const r = await m.client.postRecords(
    batchAt(
      i,
      new Date(NOW.getTime() - SPAN + Math.floor((i / N) * SPAN)),
      Math.ceil((BATCH / N) * SPAN),
      "l",
    ),
  );
  if (r.accepted !== BATCH) throw new Error("ingest lost records");
}
const loadSeconds = (performance.now() - t0) / 1000;

// the longest statement of each kind the sweep runs
const longest = new Map<string, number>();
const db = m.ctx.db;
/** Only the sweep's statements (the ingest's run through the same handle). */
function note(sql: string, ms: number): void {
  const k = sql.replace(/\s+/g, " ").trim().slice(0, 32);
  if (!/^(DELETE|VACUUM|SELECT min\(id\))/.test(k)) return;
  longest.set(k, Math.max(longest.get(k) ?? 0, ms));
}
const timed = (q: Queryable): Queryable => ({
  async query(sql, params) {
    const t = performance.now();
    try {
      return await q.query(sql, params);
    } finally {
      note(sql, performance.now() - t);
    }
  },
  async exec(sql) {
    const t = performance.now();
    try {
      await q.exec(sql);
    } finally {
      note(sql, performance.now() - t);
    }
  },
});
m.ctx.db = Object.assign(Object.create(db) as typeof db, timed(db), {
  transaction: <T>(fn: (tx: Queryable) => Promise<T>) => db.transaction((tx) => fn(timed(tx))),
});

let live = 0;
async function postLive(): Promise<number> {
  const t = performance.now();
  await m.client.postRecords(batchAt(live, new Date(NOW.getTime() - 60_000), 60_000, "now"));
  live += BATCH;
  return performance.now() - t;
}
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

const during: number[] = [];
const s0 = performance.now();
let done = false;
const sweep = m.retention!.sweepNow().then((r) => {
  done = true;
  return r;
});
while (!done) during.push(await postLive());
const result = await sweep;
const sweepSeconds = (performance.now() - s0) / 1000;
const alone: number[] = [];
for (let i = 0; i < Math.max(20, during.length); i++) alone.push(await postLive());

console.log(
  JSON.stringify({
    engine: values.engine,
    records: N,
    loadRecordsPerSecond: Math.round(N / loadSeconds),
    sweep: { seconds: Number(sweepSeconds.toFixed(2)), ...result },
    longestStatementMs: Object.fromEntries([...longest].map(([k, v]) => [k, Math.round(v)])),
    postMs: {
      alone: {
        n: alone.length,
        p50: Math.round(pct(alone, 0.5)),
        p95: Math.round(pct(alone, 0.95)),
        max: Math.round(Math.max(...alone)),
      },
      duringSweep: {
        n: during.length,
        p50: Math.round(pct(during, 0.5)),
        p95: Math.round(pct(during, 0.95)),
        max: Math.round(Math.max(...during)),
      },
    },
  }),
);
await m.stop();
await database?.drop();
