/**
 * Roll-up arithmetic on both engines: deltas applied batch by batch (new rows, then rows that exist, then an
 * erasing delta) leave exactly the rows one computation over the surviving records gives.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { freshPostgresDatabase } from "../test/support/postgres.ts";
import { type Db, migrate, openDb } from "./db/index.ts";
import { applyDeltas, bucketOf, computeDeltas, type RollupInput } from "./rollups.ts";
import type { ReferenceProfile } from "./stats/index.ts";
import { freshPgliteDir } from "./testing/pglite-template.ts";

const profile = {
  features: {
    "input:x": { kind: "numeric", edges: [0, 1, 2] },
    "metadata:Modality": { kind: "categorical" },
  },
} as unknown as ReferenceProfile;
const profiles = new Map([["v1", profile]]);
const T0 = Date.parse("2026-12-01T00:00:00Z");

function rec(i: number): RollupInput {
  return {
    version: "v1",
    bucket: bucketOf(T0 + (i % 3) * 3_600_000),
    inputs: { x: ((i * 37) % 50) / 10 - 1 },
    outputs: {},
    metadata: { Modality: i % 2 ? "CT" : "CR" },
  };
}

async function rows(db: Db) {
  const { rows } = await db.query(
    `SELECT version, feature, bucket, counts::float8[] AS counts, sums, n::float8 AS n, sum, sum_sq, min, max
     FROM rollup_numeric ORDER BY feature, bucket`,
  );
  const cat = await db.query(
    "SELECT feature, bucket, category, count::float8 AS count FROM rollup_categorical ORDER BY feature, bucket, category",
  );
  const round = (x: unknown) => (typeof x === "number" ? Math.round(x * 1e9) / 1e9 : x);
  const norm = (o: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(o).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.map(round) : v instanceof Date ? v.getTime() : round(v),
      ]),
    );
  return { numeric: rows.map(norm), categorical: cat.rows.map(norm) };
}

describe.each(["pglite", "postgres"] as const)("roll-ups on %s", (engine) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  async function open(): Promise<Db> {
    if (engine === "pglite") {
      const dir = await freshPgliteDir();
      const db = await openDb({ dataDir: dir });
      cleanups.push(async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      });
      await migrate(db);
      return db;
    }
    const database = await freshPostgresDatabase();
    const db = await openDb({ databaseUrl: database.url });
    cleanups.push(async () => {
      await db.close();
      await database.drop();
    });
    await migrate(db);
    return db;
  }

  it("batch by batch, with an erasure, equals one computation over the surviving records", async () => {
    const a = await open();
    const b = await open();
    const all = Array.from({ length: 90 }, (_, i) => rec(i));
    const erased = all.filter((_, i) => i % 7 === 0);
    for (const batch of [all.slice(0, 30), all.slice(30, 60), all.slice(60)])
      await a.transaction((tx) => applyDeltas(tx, "ns", "m", computeDeltas(batch, profiles)));
    await a.transaction((tx) => applyDeltas(tx, "ns", "m", computeDeltas(erased, profiles, -1)));
    const kept = all.filter((_, i) => i % 7 !== 0);
    await b.transaction((tx) => applyDeltas(tx, "ns", "m", computeDeltas(kept, profiles)));
    const got = await rows(a);
    const want = await rows(b);
    expect(got.numeric).toHaveLength(3);
    // min/max: an erasure keeps them (documented), so compare them against the un-erased stream
    const strip = (r: Record<string, unknown>) => ({ ...r, min: undefined, max: undefined });
    expect(got.numeric.map(strip)).toEqual(want.numeric.map(strip));
    expect(got.categorical).toEqual(want.categorical);
    const xs = (bucketMs: number) =>
      all.filter((r) => r.bucket.getTime() === bucketMs).map((r) => r.inputs.x!);
    for (const r of got.numeric) {
      expect(r.min).toBeCloseTo(Math.min(...xs(r.bucket as number)), 8);
      expect(r.max).toBeCloseTo(Math.max(...xs(r.bucket as number)), 8);
    }
  });
});
