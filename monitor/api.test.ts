/**
 * The monitor's HTTP API on both engines (PGlite and a real PostgreSQL server): records, consent, references,
 * policies and drift, sampling and the worklist, metrics labels.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MONITOR_ENGINES, startTestMonitor } from "../test/support/monitor.ts";
import type { MonitorError } from "./client.ts";
import { caseUniform } from "./sampling.ts";
import { wilson } from "./stats/index.ts";
import type { StartedMonitor } from "./testing/index.ts";
import { syntheticCases } from "./testing/records.ts";
import type { PutConsent, PutPolicy } from "./wire.ts";

const NOW = new Date("2026-12-04T12:00:00Z");
const HOUR = 3_600_000;
const PN = (c: string) => `pn:${c.repeat(64)}`;

function policy(model: string, extra: Partial<PutPolicy["spec"]> = {}): PutPolicy {
  return {
    model,
    spec: {
      modelRef: { name: model },
      metrics: [{ name: "sensitivity", min: 0.5, minSamples: 20 }],
      ...extra,
    } as PutPolicy["spec"],
  };
}

describe.each(MONITOR_ENGINES)("monitor API on %s", (engine) => {
  let m: StartedMonitor;
  beforeAll(async () => {
    m = await startTestMonitor(engine, { now: () => NOW });
  }, 180_000);
  afterAll(async () => {
    await m?.stop();
  });

  const count = async (sql: string, params: unknown[] = []) =>
    (await m.db.query<{ n: number }>(sql, params)).rows[0]!.n;

  it("keeps the good records of a batch and rejects each bad one with a stable code", async () => {
    const good = syntheticCases({ n: 3, model: "batch", start: new Date(NOW.getTime() - HOUR) }).map(
      (c) => c.record,
    );
    const bad: unknown[] = [
      { ...good[0], caseId: "x".repeat(129) },
      { ...good[0], time: "yesterday" },
      { ...good[0], patient: "123456" },
      { ...good[0], metadata: { PatientName: "Doe^Jane" } },
      { ...good[0], comment: "free text" },
      { ...good[0], inputs: { "image:mean": "high" } },
      42,
    ];
    const r = await m.client.postRecords([good[0]!, ...(bad as never[]), good[1]!, good[2]!]);
    expect(r.accepted).toBe(3);
    expect(r.excluded).toBe(0);
    expect(r.rejected).toEqual([
      { index: 1, code: "INVALID_CASE_ID" },
      { index: 2, code: "INVALID_TIME" },
      { index: 3, code: "INVALID_PATIENT" },
      { index: 4, code: "METADATA_NOT_ALLOWED" },
      { index: 5, code: "UNKNOWN_FIELD" },
      { index: 6, code: "INVALID_INPUTS" },
      { index: 7, code: "INVALID_RECORD" },
    ]);
    expect(await count("SELECT count(*)::int AS n FROM records WHERE model = 'batch'")).toBe(3);
    // a retried batch stores nothing twice
    await m.client.postRecords(good);
    expect(await count("SELECT count(*)::int AS n FROM records WHERE model = 'batch'")).toBe(3);
  });

  it("stores a case once per version across repeats in a batch and partly retried batches, counted once", async () => {
    const [a, b, c, d] = syntheticCases({ n: 4, model: "once", start: new Date(NOW.getTime() - HOUR) }).map(
      (x) => x.record,
    );
    // metadata strings with the characters COPY's text format and JSON escape (and a literal \N)
    const odd = 'GE\\Med\t"x"\n\r\\N ü';
    const first = { ...a!, metadata: { Manufacturer: odd, Modality: "CT" }, site: "s1" };
    const r1 = await m.client.postRecords([first, b!, { ...a!, site: "s2" }, b!]);
    expect(r1).toEqual({ accepted: 4, excluded: 0, rejected: [] }); // accepted = valid and not excluded
    // a retry of part of it, plus new cases and the same case id under another version
    await m.client.postRecords([b!, c!, first, d!, { ...a!, version: "v2" }, c!]);
    const { rows } = await m.db.query<{ version: string; case_id: string; site: string; metadata: object }>(
      "SELECT version, case_id, site, metadata FROM records WHERE model = 'once' ORDER BY id",
    );
    expect(rows.map((r) => `${r.version}/${r.case_id}`)).toEqual([
      `v1/${a!.caseId}`,
      `v1/${b!.caseId}`,
      `v1/${c!.caseId}`,
      `v1/${d!.caseId}`,
      `v2/${a!.caseId}`,
    ]);
    // the first occurrence is the one kept, byte for byte
    expect(rows[0]!.site).toBe("s1");
    expect(rows[0]!.metadata).toEqual({ Manufacturer: odd, Modality: "CT" });
    expect(
      await count("SELECT sum(total)::int AS n FROM traffic WHERE namespace = $1 AND model = 'once'", [
        a!.namespace,
      ]),
    ).toBe(5);
  });

  it("takes concurrent batches of two models in the same hour without losing, doubling or deadlocking", async () => {
    const start = new Date(NOW.getTime() - 30 * 60_000);
    const gen = (model: string, i: number, n: number) =>
      syntheticCases({ n, model, start, spanMs: 60_000, seed: 50 + i, caseIdPrefix: `k${i}-` }).map(
        (c) => c.record,
      );
    for (const model of ["conc-a", "conc-b"]) {
      await m.client.postRecords(gen(model, 0, 100));
      await m.client.putReference("radiology", model, "v1", { firstRecords: 100 });
    }
    // each batch holds both models, in alternating order, and its own order of decisions and buckets
    const batches = Array.from({ length: 12 }, (_, i) => {
      const [x, y] = i % 2 === 0 ? ["conc-a", "conc-b"] : ["conc-b", "conc-a"];
      return [...gen(x, i + 1, 60), ...gen(y, i + 1, 60)];
    });
    const answers = await Promise.all(batches.map((b) => m.client.postRecords(b)));
    expect(answers.every((r) => r.accepted === 120 && r.rejected.length === 0)).toBe(true);
    for (const model of ["conc-a", "conc-b"]) {
      const stored = 100 + 12 * 60;
      expect(await count("SELECT count(*)::int AS n FROM records WHERE model = $1", [model])).toBe(stored);
      expect(await count("SELECT sum(total)::int AS n FROM traffic WHERE model = $1", [model])).toBe(stored);
      expect(
        await count(
          "SELECT sum(n)::int AS n FROM rollup_numeric WHERE model = $1 AND feature = 'input:image:f0'",
          [model],
        ),
      ).toBe(stored);
      expect(
        await count(
          "SELECT sum(count)::int AS n FROM rollup_categorical WHERE model = $1 AND feature = 'metadata:Manufacturer'",
          [model],
        ),
      ).toBe(stored);
    }
  });

  it("stores each case once when concurrent batches repeat the same cases in opposite orders", async () => {
    const start = new Date(NOW.getTime() - 30 * 60_000);
    const cases = syntheticCases({ n: 300, model: "conc-rev", start, spanMs: 60_000, seed: 77 }).map(
      (c) => c.record,
    );
    const reversed = [...cases].reverse();
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => m.client.postRecords(i % 2 === 0 ? cases : reversed)),
    );
    expect(answers.every((r) => r.accepted === 300)).toBe(true);
    expect(await count("SELECT count(*)::int AS n FROM records WHERE model = 'conc-rev'")).toBe(300);
    expect(await count("SELECT sum(total)::int AS n FROM traffic WHERE model = 'conc-rev'")).toBe(300);
  });

  it("refuses oversized batches and malformed bodies as a whole, with codes", async () => {
    const one = syntheticCases({ n: 1, model: "big", start: NOW })[0]!.record;
    const tooMany = new Array(10_001).fill(one);
    await expect(m.client.postRecords(tooMany)).rejects.toMatchObject({
      status: 413,
      code: "TOO_MANY_RECORDS",
    });
    const r = await fetch(`${m.url}/v1/records`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows: [] }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { code: string }).code).toBe("INVALID_BODY");
    const broken = await fetch(`${m.url}/v1/records`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"records": [',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { code: string }).code).toMatch(/^(INVALID_JSON|BAD_REQUEST)$/);
  });

  it("does not store records of a patient who denies quality monitoring, counts them, and erases on request", async () => {
    const denier = PN("a");
    const other = PN("b");
    const spec: PutConsent = {
      subject: { pseudonym: denier },
      legalBasis: { article6: "6.1.e", article9: "9.2.h" },
      decision: "Permit",
      provisions: [{ decision: "Deny", purposes: ["HQUALIMP"], models: ["consent-model"] }],
      recordedAt: "2026-01-01T00:00:00Z",
    };
    expect(await m.client.putConsent(denier, spec)).toEqual({ pseudonym: denier, excluded: 0, erased: 0 });
    const cases = syntheticCases({
      n: 10,
      model: "consent-model",
      start: new Date(NOW.getTime() - HOUR),
      patient: (i) => (i < 4 ? denier : other),
    });
    const r = await m.client.postRecords(cases.map((c) => c.record));
    expect(r).toEqual({ accepted: 6, excluded: 4, rejected: [] });
    expect(await count("SELECT count(*)::int AS n FROM records WHERE patient = $1", [denier])).toBe(0);
    // the provision names one model: another model's records of the same patient are kept
    const elsewhere = syntheticCases({ n: 2, model: "other-model", start: NOW, patient: () => denier });
    expect((await m.client.postRecords(elsewhere.map((c) => c.record))).accepted).toBe(2);
    // a mismatched body is refused without echoing the pseudonym
    await expect(m.client.putConsent(other, spec)).rejects.toMatchObject({
      status: 400,
      code: "PSEUDONYM_MISMATCH",
    });
    const err = await m.client.putConsent(other, spec).catch((e: MonitorError) => e);
    expect(String((err as MonitorError).message)).not.toContain(other);

    // erasure: the other-model records of the denier and their annotation go
    await m.client.postAnnotations([
      {
        namespace: "radiology",
        model: "other-model",
        caseId: "c0",
        positive: true,
        time: NOW.toISOString(),
        source: "reader",
      },
    ]);
    expect(await m.client.eraseConsent(denier)).toEqual({ records: 2, annotations: 1 });
    expect(await m.client.eraseConsent(denier)).toEqual({ records: 0, annotations: 0 });
    expect(await count("SELECT count(*)::int AS n FROM records WHERE patient = $1", [denier])).toBe(0);
    const got = await fetch(`${m.url}/v1/consent/${denier}`).then((x) => x.json());
    expect(got).toMatchObject({ excluded: 4, erased: 2 });

    // lifting the decision stores the patient's next records
    await m.client.deleteConsent(denier);
    const later = syntheticCases({
      n: 2,
      model: "consent-model",
      caseIdPrefix: "later",
      start: NOW,
      patient: () => denier,
    });
    expect(await m.client.postRecords(later.map((c) => c.record))).toEqual({
      accepted: 2,
      excluded: 0,
      rejected: [],
    });
  });

  it("reports a shifted input distribution as drift and an unshifted one as none", async () => {
    const ns = "radiology";
    const start = new Date(NOW.getTime() - 48 * HOUR);
    // reference: the first 2,000 records of v1
    const ref = syntheticCases({ n: 2000, model: "drift", version: "v1", start, spanMs: 24 * HOUR, seed: 7 });
    await m.client.postRecords(ref.map((c) => c.record));
    expect(await m.client.putReference(ns, "drift", "v1", { firstRecords: 2000 })).toMatchObject({ n: 2000 });
    // v2 uses the same reference document; its live traffic is shifted by one std
    const profile = (await fetch(`${m.url}/v1/references/${ns}/drift/v1`).then((x) => x.json())) as Record<
      string,
      unknown
    >;
    await m.client.putReference(ns, "drift", "v2", profile);
    const liveStart = new Date(NOW.getTime() - 20 * HOUR);
    const same = syntheticCases({
      n: 1500,
      model: "drift",
      version: "v1",
      start: liveStart,
      spanMs: 19 * HOUR,
      seed: 8,
      caseIdPrefix: "live",
    });
    const shifted = syntheticCases({
      n: 1500,
      model: "drift",
      version: "v2",
      start: liveStart,
      spanMs: 19 * HOUR,
      seed: 9,
      shift: 1,
      caseIdPrefix: "live",
    });
    for (const batch of [same, shifted]) await m.client.postRecords(batch.map((c) => c.record));

    await m.client.putPolicy(
      ns,
      "drift-policy",
      policy("drift", {
        drift: {
          window: { duration: "21h" },
          checks: [
            { source: "input", feature: "image:f0", test: "psi", threshold: 0.2 },
            { source: "input", feature: "image:f0", test: "ks", pValue: 0.01 },
            { source: "metadata", feature: "Manufacturer", test: "chi2", pValue: 0.01 },
            { source: "output", feature: "score:missing", test: "psi", threshold: 0.2 },
          ],
        },
      }),
    );
    const e = await m.client.evaluatePolicy(ns, "drift-policy", {
      now: NOW.toISOString(),
      versions: ["v1", "v2"],
    });
    const row = (v: string, test: string, feature = "image:f0") =>
      e.drift.find((d) => d.version === v && d.test === test && d.feature === feature)!;
    expect(row("v1", "psi").drifted).toBe(false);
    expect(row("v1", "ks").drifted).toBe(false);
    expect(row("v2", "psi").drifted).toBe(true);
    expect(row("v2", "psi").statistic).toBeGreaterThan(0.5);
    expect(row("v2", "ks").drifted).toBe(true);
    expect(row("v2", "ks").pValue).toBeLessThan(1e-6);
    expect(row("v2", "chi2", "Manufacturer").drifted).toBe(false); // same scanners
    expect(e.insufficient).toContainEqual(
      expect.objectContaining({ version: "v1", kind: "drift", reason: "FEATURE_NOT_IN_REFERENCE" }),
    );
    expect(e.insufficientData).toBe(true);

    // the window excludes the reference period: v1's live window holds its 1,500 live records only
    const text = await fetch(`${m.metricsUrl}/metrics`).then((x) => x.text());
    expect(text).toMatch(
      /medmlops_monitor_drifted\{[^}]*version="v2"[^}]*feature="image:f0"[^}]*test="psi"[^}]*\} 1/,
    );
    // label values are configuration names only: no site, manufacturer or case id from the records
    expect(text).not.toMatch(/Siemens|site="a"|caseId|live\d/);
  });

  it("turns a batch of annotations into sensitivity with Wilson bounds, per site, and a verdict", async () => {
    const ns = "radiology";
    await m.client.putPolicy(
      ns,
      "metrics-policy",
      policy("metrics", {
        sampling: { rate: 1, strategy: "Random", minPerWindow: 0 },
        metrics: [
          { name: "sensitivity", min: 0.5, minSamples: 20, bySubgroup: ["site"] },
          { name: "specificity", min: 0.99, minSamples: 20 },
          { name: "auroc", min: 0.6, minSamples: 500 },
        ],
      }),
    );
    const cases = syntheticCases({
      n: 300,
      model: "metrics",
      start: new Date(NOW.getTime() - 5 * HOUR),
      seed: 11,
    });
    await m.client.postRecords(cases.map((c) => c.record));
    const ann = await m.client.postAnnotations(
      cases.map((c) => ({
        namespace: ns,
        model: "metrics",
        caseId: c.record.caseId,
        positive: c.truth,
        time: NOW.toISOString(),
        source: "reader" as const,
      })),
    );
    expect(ann).toEqual({ accepted: 300, rejected: [] });
    const e = await m.client.evaluatePolicy(ns, "metrics-policy", {
      now: NOW.toISOString(),
      versions: ["v1"],
    });
    const expectSensitivity = (subset: typeof cases, subgroup?: string) => {
      const pos = subset.filter((c) => c.truth);
      const tp = pos.filter((c) => c.record.decision!.positive).length;
      const [lo, hi] = wilson(tp, pos.length, 0.95);
      const row = e.results[0]!.metrics.find((r) => r.metric === "sensitivity" && r.subgroup === subgroup)!;
      expect(row.n).toBe(pos.length);
      expect(row.value).toBeCloseTo(tp / pos.length, 12);
      expect(row.ciLow).toBeCloseTo(lo, 12);
      expect(row.ciHigh).toBeCloseTo(hi, 12);
      expect(row.pass).toBe(lo >= 0.5);
    };
    expectSensitivity(cases);
    expectSensitivity(
      cases.filter((c) => c.record.site === "a"),
      "site=a",
    );
    expectSensitivity(
      cases.filter((c) => c.record.site === "b"),
      "site=b",
    );
    const spec = e.results[0]!.metrics.find((r) => r.metric === "specificity")!;
    expect(spec.pass).toBe(false); // a floor of 0.99 on ~0.98: breached
    expect(e.insufficient).toContainEqual(
      expect.objectContaining({
        kind: "metric",
        name: "auroc",
        reason: "TOO_FEW_SAMPLES",
        n: 300,
        minSamples: 500,
      }),
    );
    const text = await fetch(`${m.metricsUrl}/metrics`).then((x) => x.text());
    expect(text).toMatch(/medmlops_monitor_metric_ci_low\{[^}]*metric="sensitivity"[^}]*\} 0\.\d+/);
    expect(text).toMatch(/medmlops_monitor_annotation_backlog\{[^}]*policy="metrics-policy"[^}]*\} 0/);
  });

  it("samples at ingest with the stored probability and lists unannotated samples on the worklist", async () => {
    const ns = "radiology";
    await m.client.putPolicy(
      ns,
      "s-policy",
      policy("sampled", { sampling: { rate: 0.2, strategy: "Random", minPerWindow: 5 } }),
    );
    const cases = syntheticCases({
      n: 400,
      model: "sampled",
      start: new Date(NOW.getTime() - 2 * HOUR),
      seed: 3,
    });
    await m.client.postRecords(cases.map((c) => c.record));
    const { rows } = await m.db.query<{ case_id: string; inclusion_prob: number; sampled: boolean }>(
      "SELECT case_id, inclusion_prob, sampled FROM records WHERE model = 'sampled' ORDER BY id",
    );
    // minPerWindow: the first 5 are drawn with π = 1; then π = rate, and the draw is the case id's uniform
    expect(rows.slice(0, 5).every((r) => r.inclusion_prob === 1 && r.sampled)).toBe(true);
    for (const r of rows.slice(5)) {
      expect(r.inclusion_prob).toBeCloseTo(0.2, 12);
      expect(r.sampled).toBe(caseUniform(ns, "sampled", r.case_id) < 0.2);
    }
    const sampled = rows.filter((r) => r.sampled).length;
    expect(sampled).toBeGreaterThan(5 + 0.2 * 395 * 0.6);
    expect(sampled).toBeLessThan(5 + 0.2 * 395 * 1.4);

    const wl = await m.client.worklist({ namespace: ns, model: "sampled", limit: 10_000 });
    expect(wl.cases.length).toBe(sampled);
    expect(Object.keys(wl.cases[0]!).sort()).toEqual(["caseId", "inclusionProbability", "time", "version"]);
    await m.client.postAnnotations(
      wl.cases.slice(0, 3).map((c) => ({
        namespace: ns,
        model: "sampled",
        caseId: c.caseId,
        positive: true,
        time: NOW.toISOString(),
        source: "reader" as const,
      })),
    );
    const after = await m.client.worklist({ namespace: ns, model: "sampled", limit: 10_000 });
    expect(after.cases.length).toBe(sampled - 3);
    expect(after.cases.map((c) => c.caseId)).not.toContain(wl.cases[0]!.caseId);
  });

  it("oversamples the rare decision under StratifiedByPrediction", async () => {
    await m.client.putPolicy(
      "radiology",
      "strat",
      policy("strat", {
        sampling: { rate: 0.1, strategy: "StratifiedByPrediction", minPerWindow: 0 },
      }),
    );
    const cases = syntheticCases({
      n: 1000,
      model: "strat",
      start: new Date(NOW.getTime() - HOUR),
      prevalence: 0.1,
      seed: 5,
    });
    for (let i = 0; i < cases.length; i += 250)
      await m.client.postRecords(cases.slice(i, i + 250).map((c) => c.record));
    const { rows } = await m.db.query<{ positive: boolean; pi: number }>(
      "SELECT decision_positive AS positive, avg(inclusion_prob)::float8 AS pi FROM records WHERE model = 'strat' GROUP BY 1",
    );
    const pi = Object.fromEntries(rows.map((r) => [String(r.positive), r.pi]));
    expect(pi["true"]!).toBeGreaterThan(2 * pi["false"]!);
  });

  it("answers unknown policies, references and bad paths with codes", async () => {
    await expect(m.client.evaluatePolicy("radiology", "nope", { versions: ["v1"] })).rejects.toMatchObject({
      status: 404,
      code: "POLICY_NOT_FOUND",
    });
    await expect(
      m.client.putReference("radiology", "empty", "v1", { firstRecords: 50 }),
    ).rejects.toMatchObject({
      status: 409,
      code: "NOT_ENOUGH_RECORDS",
    });
    await expect(m.client.putReference("radiology", "empty", "v1", { format: "nope" })).rejects.toMatchObject(
      {
        status: 400,
        code: "INVALID_PROFILE",
      },
    );
    await expect(m.client.putPolicy("Bad_NS", "p", policy("x"))).rejects.toMatchObject({
      code: "INVALID_PATH",
    });
    await expect(
      m.client.putPolicy("radiology", "p", { model: "x", spec: { metrics: [] } } as never),
    ).rejects.toMatchObject({ status: 400, code: "INVALID_POLICY" });
  });
});
