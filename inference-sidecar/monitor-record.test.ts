import { describe, expect, it } from "vitest";
import { parseRecord } from "../monitor/wire.ts";
import { mulberry32 } from "../test/support/mulberry32.ts";
import { MOMENT_SAMPLE, PERCENTILE_SAMPLE, percentilesInPlace, summarizeInput } from "./input-stats.ts";
import { buildRecord } from "./monitor-record.ts";
import type { ItemPrediction } from "./postprocess.ts";

describe("summarizeInput", () => {
  it("is exact on inputs smaller than the samples, with numpy's linear percentiles", () => {
    const data = Float32Array.from({ length: 101 }, (_, i) => 100 - i);
    const s = summarizeInput(data, true)!;
    expect(s.mean).toBeCloseTo(50, 12);
    expect(s.std).toBeCloseTo(Math.sqrt((101 * 101 - 1) / 12), 9);
    expect([s.p5, s.p50, s.p95]).toEqual([5, 50, 95]);
    expect(summarizeInput(data, false)!.p5).toBeUndefined();
  });

  it("samples large tensors with a stride and skips non-finite values", () => {
    const n = 3 * 224 * 224;
    const data = Float32Array.from({ length: n }, (_, i) => (i % 1000) / 1000);
    const s = summarizeInput(data, true)!;
    expect(s.mean).toBeCloseTo(0.5, 1);
    expect(s.p50!).toBeGreaterThan(0.4);
    expect(s.p50!).toBeLessThan(0.6);
    expect(MOMENT_SAMPLE).toBeGreaterThan(PERCENTILE_SAMPLE);
    expect(summarizeInput(new Float32Array([Number.NaN, 1, 3]), true)).toMatchObject({ mean: 2, p50: 2 });
    expect(summarizeInput(new Float32Array(0), true)).toBeUndefined();
    expect(summarizeInput(new Float32Array([Number.NaN]), true)).toBeUndefined();
  });
});

describe("percentilesInPlace", () => {
  it("equals numpy-style linear percentiles of the sorted values, ties and tiny arrays included", () => {
    const rand = mulberry32(9);
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    const linear = (s: number[], q: number) => {
      const pos = q * (s.length - 1);
      const lo = Math.floor(pos);
      return s[lo]! + (s[Math.min(s.length - 1, lo + 1)]! - s[lo]!) * (pos - lo);
    };
    for (const n of [1, 2, 3, 7, 20, 255, 256, 257]) {
      for (const tied of [false, true]) {
        const values = Array.from({ length: n }, () => (tied ? Math.floor(rand() * 4) : rand() * 10 - 5));
        const qs = [0.05, 0.5, 0.95];
        const got = percentilesInPlace(Float64Array.from(values), qs);
        const s = sorted(values);
        for (const [i, q] of qs.entries()) {
          expect(got[i], `n=${n} tied=${tied} q=${q}`).toBeCloseTo(linear(s, q), 12);
        }
      }
    }
  });
});

describe("buildRecord", () => {
  const item = (scores: [string, number][], decision?: number): ItemPrediction => ({
    scores: scores.map(([label, score]) => ({ label, score })),
    top: { label: scores[0]![0], score: scores[0]![1] },
    ...(decision === undefined
      ? {}
      : {
          decision: { label: "pleural effusion", score: decision, threshold: 0.5, positive: decision >= 0.5 },
        }),
  });

  it("names features as the monitor expects and summarises a multi-frame request by its highest scores", () => {
    const record = buildRecord(
      { namespace: "radiology", model: "cxr", version: "v2" },
      {
        caseId: "0123abcd",
        inputs: new Map([["image", { mean: 0.1, std: 1, p5: -1, p50: 0, p95: 2 }]]),
        predictions: new Map([
          [
            "logits",
            [
              item(
                [
                  ["normal", 0.7],
                  ["pleural effusion", 0.3],
                ],
                0.3,
              ),
              item(
                [
                  ["normal", 0.2],
                  ["pleural effusion", 0.8],
                ],
                0.8,
              ),
            ],
          ],
          ["aux", [item([["x", 0.5]])]],
        ]),
        time: new Date("2026-12-04T10:00:00Z"),
      },
    );
    expect(record).toEqual({
      time: "2026-12-04T10:00:00.000Z",
      namespace: "radiology",
      model: "cxr",
      version: "v2",
      caseId: "0123abcd",
      inputs: { "image:mean": 0.1, "image:std": 1, "image:p5": -1, "image:p50": 0, "image:p95": 2 },
      outputs: { "score:normal": 0.7, "score:pleural_effusion": 0.8, "score:aux:x": 0.5 },
      decision: { label: "pleural effusion", score: 0.8, positive: true },
    });
    expect(parseRecord(record)).toMatchObject({ ok: true });
  });
});
