/**
 * Retention (--retention-days): the sweep deletes raw records older than N days and their cases' annotations in
 * batches, keeps roll-ups (drift over a long window is unchanged), and evaluation says PAST_RETENTION instead of
 * computing metrics from what is left of a window that reaches past the cutoff. On both engines.
 */
import { afterAll, describe, expect, it } from "vitest";
import { MONITOR_ENGINES, startTestMonitor } from "../test/support/monitor.ts";
import type { StartedMonitor } from "./testing/index.ts";
import { syntheticCases } from "./testing/records.ts";

const NOW = new Date("2026-12-05T12:00:00Z");
const DAY = 86_400_000;
const ns = "radiology";
const model = "kept";

function policy(window: string) {
  return {
    model,
    spec: {
      modelRef: { name: model },
      metrics: [{ name: "sensitivity", min: 0.1, minSamples: 10 }],
      drift: {
        window: { duration: window },
        checks: [{ source: "input", feature: "image:f0", test: "ks", pValue: 0.01 }],
      },
    } as never,
  };
}

async function count(m: StartedMonitor, table: "records" | "annotations"): Promise<number> {
  const { rows } = await m.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

describe.each(MONITOR_ENGINES)("retention on %s", (engine) => {
  let m: StartedMonitor | undefined;
  afterAll(async () => {
    await m?.stop();
  });

  it("deletes records older than N days and their annotations in batches, keeps roll-ups, and says PAST_RETENTION", async () => {
    m = await startTestMonitor(engine, {
      now: () => NOW,
      retention: { days: 7, batchSize: 50, intervalMs: 365 * DAY },
    });
    expect(m.retention).toBeDefined();
    await m.retention!.sweepNow(); // the sweep at start, on an empty ledger
    await m.client.putPolicy(ns, "long", policy("14d"));
    await m.client.putPolicy(ns, "short", policy("3d"));
    const ref = syntheticCases({
      n: 300,
      model,
      start: new Date(NOW.getTime() - 20 * DAY),
      caseIdPrefix: "ref",
    });
    await m.client.postRecords(ref.map((c) => c.record));
    await m.client.putReference(ns, model, "v1", { firstRecords: 300 });
    const old = syntheticCases({
      n: 200,
      model,
      start: new Date(NOW.getTime() - 10 * DAY),
      caseIdPrefix: "old",
      seed: 2,
    });
    const recent = syntheticCases({
      n: 200,
      model,
      start: new Date(NOW.getTime() - 2 * DAY),
      caseIdPrefix: "new",
      seed: 3,
    });
    for (const batch of [old, recent]) {
      expect((await m.client.postRecords(batch.map((c) => c.record))).accepted).toBe(200);
      const annotated = await m.client.postAnnotations(
        batch.slice(0, 100).map((c) => ({
          namespace: ns,
          model,
          caseId: c.record.caseId,
          positive: c.truth,
          time: c.record.time,
          source: "reader" as const,
        })),
      );
      expect(annotated.accepted).toBe(100);
    }
    // an annotation whose record never arrived, older than the cutoff, and a recent one: only the old one goes
    await m.client.postAnnotations([
      {
        namespace: ns,
        model,
        caseId: "never-1",
        positive: true,
        time: new Date(NOW.getTime() - 9 * DAY).toISOString(),
        source: "report",
      },
      {
        namespace: ns,
        model,
        caseId: "never-2",
        positive: true,
        time: new Date(NOW.getTime() - 1 * DAY).toISOString(),
        source: "report",
      },
    ]);
    const before = await m.client.evaluatePolicy(ns, "long", { now: NOW.toISOString(), versions: ["v1"] });
    // the configured retention decides, not whether a sweep has run yet: no partial numbers either way
    expect(before.results[0]!.metrics).toEqual([]);
    expect(before.drift[0]).toMatchObject({ feature: "image:f0", test: "ks" });

    const swept = await m.retention!.sweepNow();
    expect(swept).toMatchObject({ records: 500, annotations: 101 });
    expect(swept.batches).toBeGreaterThanOrEqual(10); // 700 ids, 50 a batch
    expect(await count(m, "records")).toBe(200);
    expect(await count(m, "annotations")).toBe(101);
    const left = await m.db.query<{ n: number }>("SELECT count(*)::int AS n FROM records WHERE time < $1", [
      new Date(NOW.getTime() - 7 * DAY).toISOString(),
    ]);
    expect(left.rows[0]!.n).toBe(0);

    // drift reads the roll-ups, which are kept: the same numbers over the 14-day window
    const after = await m.client.evaluatePolicy(ns, "long", { now: NOW.toISOString(), versions: ["v1"] });
    expect(after.drift).toEqual(before.drift);
    expect(after.drift[0]).toMatchObject({ feature: "image:f0", test: "ks" });
    // metrics over a window past retention: no numbers from the remaining half, a stated reason instead
    expect(after.results[0]!.metrics).toEqual([]);
    expect(after.insufficientData).toBe(true);
    expect(after.insufficient).toContainEqual(
      expect.objectContaining({ kind: "metric", name: "sensitivity", reason: "PAST_RETENTION" }),
    );
    // a window inside retention still has its metrics, from every annotated case in it
    const short = await m.client.evaluatePolicy(ns, "short", { now: NOW.toISOString(), versions: ["v1"] });
    expect(short.results[0]!.metrics).toEqual([expect.objectContaining({ metric: "sensitivity" })]);
    expect(short.insufficient.filter((i) => i.reason === "PAST_RETENTION")).toEqual([]);

    const metrics = await (await fetch(`${m.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/medmlops_monitor_retention_deleted_total\{table="records"\} 500/);
    expect(metrics).toMatch(/medmlops_monitor_retention_deleted_total\{table="annotations"\} 101/);

    // a second sweep finds nothing more
    expect(await m.retention!.sweepNow()).toMatchObject({ records: 0, annotations: 0 });
  }, 180_000);
});
