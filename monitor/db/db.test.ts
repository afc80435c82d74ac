import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freshPgliteDir } from "../testing/pglite-template.ts";
import { freshPostgresDatabase, type TestDatabase } from "../../test/support/postgres.ts";
import { type Db, loadMigrations, MigrationError, migrate, openDb } from "./index.ts";

const ENGINES = ["pglite", "postgres"] as const;

describe.each(ENGINES)("storage on %s", (engine) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function open(): Promise<{ db: Db; reopen: () => Promise<Db> }> {
    if (engine === "pglite") {
      const dir = await freshPgliteDir();
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      return { db: await openDb({ dataDir: dir }), reopen: () => openDb({ dataDir: dir }) };
    }
    const database: TestDatabase = await freshPostgresDatabase();
    cleanups.push(() => database.drop());
    return {
      db: await openDb({ databaseUrl: database.url }),
      reopen: () => openDb({ databaseUrl: database.url }),
    };
  }

  it("applies every migration once, in order, and records it", async () => {
    const { db, reopen } = await open();
    const files = loadMigrations();
    const { rows } = await db.query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => f.version));
    expect(await migrate(db)).toEqual([]); // nothing left to apply
    await db.close();
    const again = await reopen(); // a restart applies nothing and keeps the data
    const n = await again.query<{ n: number }>("SELECT count(*)::int AS n FROM schema_migrations");
    expect(n.rows[0]!.n).toBe(files.length);
    await again.close();
  });

  it("refuses to start when an applied migration was edited, and applies a new one", async () => {
    const { db } = await open();
    const dir = mkdtempSync(join(tmpdir(), "medmlops-mig-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "900_extra.sql"), "CREATE TABLE extra_test (x int);");
    expect(await migrate(db, loadMigrations(dir))).toEqual([900]);
    writeFileSync(join(dir, "900_extra.sql"), "CREATE TABLE extra_test (x int, y int);");
    await expect(migrate(db, loadMigrations(dir))).rejects.toBeInstanceOf(MigrationError);
    await db.close();
  });

  it("commits a transaction that resolves and rolls back one that throws", async () => {
    const { db } = await open();
    await db.exec("CREATE TABLE t (x int)");
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO t VALUES ($1)", [1]);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO t VALUES ($1)", [2]);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    const { rows } = await db.query<{ x: number }>("SELECT x FROM t ORDER BY x");
    expect(rows).toEqual([{ x: 1 }]);
    await db.close();
  });

  it("reads timestamps as Date and casts keep numbers numbers on both engines", async () => {
    const { db } = await open();
    const { rows } = await db.query<{ t: Date; n: number; f: number; j: unknown }>(
      "SELECT $1::timestamptz AS t, count(*)::int AS n, 1.5::float8 AS f, '{\"a\":[1]}'::jsonb AS j FROM schema_migrations",
      ["2026-01-02T03:04:05.000Z"],
    );
    expect(rows[0]!.t).toBeInstanceOf(Date);
    expect(rows[0]!.t.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(typeof rows[0]!.n).toBe("number");
    expect(rows[0]!.f).toBe(1.5);
    expect(rows[0]!.j).toEqual({ a: [1] });
    await db.close();
  });
});
