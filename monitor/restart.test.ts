/**
 * Restart loses nothing acknowledged: `medmlops monitor` (the real CLI, a child process) acknowledges a batch,
 * is killed with SIGKILL (no shutdown code runs), and a new process on the same data dir / database still has
 * every acknowledged record, annotation and policy. On both engines.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { freshPostgresDatabase } from "../test/support/postgres.ts";
import { freshPgliteDir, type SpawnedMonitor, spawnMonitor } from "./testing/index.ts";
import { syntheticCases } from "./testing/records.ts";

describe.each(["pglite", "postgres"] as const)("restart on %s", (engine) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("keeps every acknowledged record, annotation and policy across SIGKILL", async () => {
    let target: { dataDir: string } | { databaseUrl: string };
    if (engine === "pglite") {
      const dir = await freshPgliteDir();
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      target = { dataDir: dir };
    } else {
      const db = await freshPostgresDatabase();
      cleanups.push(() => db.drop());
      target = { databaseUrl: db.url };
    }
    let p: SpawnedMonitor = await spawnMonitor(target);
    cleanups.push(() => void p.stop());
    const cases = syntheticCases({ n: 600, model: "durable", start: new Date(Date.now() - 3_600_000) });
    await p.client.putPolicy("radiology", "durable", {
      model: "durable",
      spec: { modelRef: { name: "durable" }, metrics: [{ name: "sensitivity", min: 0.5 }] } as never,
    });
    for (let i = 0; i < 600; i += 200) {
      const r = await p.client.postRecords(cases.slice(i, i + 200).map((c) => c.record));
      expect(r.accepted).toBe(200);
    }
    const ann = await p.client.postAnnotations([
      {
        namespace: "radiology",
        model: "durable",
        caseId: "c1",
        positive: true,
        time: new Date().toISOString(),
        source: "reader",
      },
    ]);
    expect(ann.accepted).toBe(1);
    p.kill("SIGKILL");
    await p.exited;

    p = await spawnMonitor(target);
    // exactly the 600 acknowledged records are there: 600 can be frozen, 601 cannot
    await expect(
      p.client.putReference("radiology", "durable", "v1", { firstRecords: 601 }),
    ).rejects.toMatchObject({
      code: "NOT_ENOUGH_RECORDS",
    });
    expect(await p.client.putReference("radiology", "durable", "v1", { firstRecords: 600 })).toMatchObject({
      n: 600,
    });
    const e = await p.client.evaluatePolicy("radiology", "durable", { versions: ["v1"] });
    expect(e.insufficient).toContainEqual(
      expect.objectContaining({ kind: "metric", name: "sensitivity", reason: "TOO_FEW_SAMPLES", n: 1 }),
    );
    expect(await p.stop()).toBe(0); // SIGTERM: drains and exits 0
  }, 240_000);
});
