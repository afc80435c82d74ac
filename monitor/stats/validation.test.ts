/**
 * Validation estimators against statsmodels (Wilson, t intervals), scikit-learn (confusion matrix, roc_auc_score),
 * SciPy (bootstrap) and DeLong's variance from its definition — one Python process for the whole file.
 * Seeded data with ties, unequal (Horvitz–Thompson) weights, a missing class and tiny samples.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../test/support/mulberry32.ts";
import { runOracle } from "../../test/oracles/python.ts";
import { auroc } from "./auroc.ts";
import { binaryMetrics, wilson } from "./binary-metrics.ts";
import { calibrationError } from "./calibration.ts";
import { meanAbsoluteError, meanDice } from "./continuous.ts";
import { BINARY_METRICS, type BinaryCase, type Estimate } from "./types.ts";
import { kishEffectiveN } from "./weights.ts";

const rand = mulberry32(42);

function cases(
  n: number,
  prevalence: number,
  opts: { weighted?: boolean; tieScores?: boolean } = {},
): BinaryCase[] {
  return Array.from({ length: n }, () => {
    const truth = rand() < prevalence;
    let score = Math.min(1, Math.max(0, (truth ? 0.65 : 0.35) + (rand() - 0.5) * 0.8));
    if (opts.tieScores) score = Math.round(score * 10) / 10;
    const predicted = score >= 0.5;
    // StratifiedByPrediction-like sampling: positives kept with π = 0.5, negatives with π = 0.05.
    const weight = opts.weighted ? (predicted ? 2 : 20) : undefined;
    return { truth, predicted, score, ...(weight ? { weight } : {}) };
  });
}

const binarySets = {
  unweighted: cases(300, 0.2),
  weighted: cases(400, 0.1, { weighted: true }),
  tiny: cases(5, 0.5),
  noPositives: cases(40, 0),
};
const aurocSets = {
  ties: cases(200, 0.3, { tieScores: true }),
  tiny: [
    { truth: true, predicted: true, score: 0.9 },
    { truth: true, predicted: false, score: 0.4 },
    { truth: true, predicted: true, score: 0.6 },
    { truth: false, predicted: false, score: 0.4 },
    { truth: false, predicted: true, score: 0.7 },
  ],
  separated: cases(60, 0.5).map((c) => ({ ...c, score: c.truth ? 0.8 + rand() * 0.2 : rand() * 0.2 })),
  weighted: cases(300, 0.25, { weighted: true, tieScores: true }),
};
const eceSets = {
  miscalibrated: Array.from({ length: 500 }, () => {
    const score = rand();
    return { score, truth: rand() < score ** 1.5, predicted: score >= 0.5 };
  }),
  small: Array.from({ length: 40 }, () => {
    // On bin edges and between them, so the side a score of exactly 0.3 falls on matters.
    const score = Math.round(rand() * 20) / 20;
    return { score, truth: rand() < score, predicted: score >= 0.5 };
  }),
};
const maePairs = Array.from({ length: 80 }, () => ({ predicted: rand() * 10, actual: rand() * 10 }));
const diceSets = {
  many: Array.from({ length: 60 }, () => 0.6 + rand() * 0.4),
  two: [0.8, 0.9],
  constant: [0.75, 0.75, 0.75],
};
const wilsonPoints: [number, number][] = [
  [0, 10],
  [10, 10],
  [3, 10],
  [2.5, 7.3],
  [50, 100],
  [1, 1],
  [930, 1000],
];

type O = Record<string, Estimate>;
let oracle: unknown[];

beforeAll(async () => {
  const b = Object.values(binarySets).map((cs) => ({
    op: "binary",
    predicted: cs.map((c) => c.predicted),
    truth: cs.map((c) => c.truth),
    weights: cs.every((c) => c.weight === undefined) ? null : cs.map((c) => c.weight ?? 1),
    confidence: 0.95,
  }));
  const a = Object.values(aurocSets).map((cs) => ({
    op: "auroc",
    scores: cs.map((c) => c.score),
    truth: cs.map((c) => c.truth),
    weights: cs.every((c) => !("weight" in c)) ? null : cs.map((c) => ("weight" in c ? c.weight : 1)),
    confidence: 0.9,
  }));
  const e = Object.values(eceSets).map((cs) => ({
    op: "ece",
    scores: cs.map((c) => c.score),
    truth: cs.map((c) => (c.truth ? 1 : 0)),
    confidence: 0.95,
    resamples: 2000,
  }));
  const t = [maePairs.map((p) => Math.abs(p.predicted - p.actual)), ...Object.values(diceSets)].map(
    (values) => ({
      op: "tmean",
      values,
      confidence: 0.95,
    }),
  );
  oracle = await runOracle([
    ...b,
    ...a,
    ...e,
    ...t,
    { op: "wilson", confidence: 0.95, points: wilsonPoints },
    { op: "wilson", confidence: 0.8, points: wilsonPoints },
  ]);
}, 600_000);

function expectEstimate(ours: Estimate, theirs: Partial<Estimate>, digits: number, label: string) {
  for (const key of ["value", "ciLow", "ciHigh", "nEffective"] as const) {
    if (!(key in theirs)) continue;
    const t = theirs[key];
    if (t === null || t === undefined) expect(ours[key], `${label} ${key}`).toBeNull();
    else expect(ours[key], `${label} ${key}`).toBeCloseTo(t, digits);
  }
  if (theirs.n !== undefined) expect(ours.n, `${label} n`).toBe(theirs.n);
}

describe("Wilson intervals against statsmodels proportion_confint(method='wilson')", () => {
  it("agree, fractional counts included", () => {
    const at95 = oracle.at(-2) as [number, number][];
    const at80 = oracle.at(-1) as [number, number][];
    wilsonPoints.forEach(([s, n], i) => {
      const [lo, hi] = wilson(s, n, 0.95);
      expect(lo).toBeCloseTo(at95[i]![0], 12);
      expect(hi).toBeCloseTo(at95[i]![1], 12);
      const [lo8, hi8] = wilson(s, n, 0.8);
      expect(lo8).toBeCloseTo(at80[i]![0], 12);
      expect(hi8).toBeCloseTo(at80[i]![1], 12);
    });
  });
});

describe("confusion metrics at the decision against scikit-learn + statsmodels", () => {
  it("match with and without Horvitz–Thompson weights, on tiny samples and with a missing class", () => {
    Object.entries(binarySets).forEach(([name, cs], i) => {
      const ours = binaryMetrics(cs, 0.95);
      const theirs = oracle[i] as O;
      for (const m of BINARY_METRICS) expectEstimate(ours[m], theirs[m]!, 10, `${name} ${m}`);
    });
  });

  it("shrink the effective n when weights are unequal (Kish) and leave it alone when they are equal", () => {
    expect(kishEffectiveN([1, 1, 1, 1])).toBe(4);
    expect(kishEffectiveN([5, 5, 5, 5])).toBeCloseTo(4, 12);
    expect(kishEffectiveN([1, 9])).toBeCloseTo(100 / 82, 12);
    const w = binaryMetrics(binarySets.weighted, 0.95).accuracy;
    expect(w.nEffective).toBeLessThan(w.n);
    expect(() => binaryMetrics([{ truth: true, predicted: true, weight: 0 }], 0.95)).toThrow(RangeError);
  });
});

describe("AUROC against scikit-learn, DeLong's interval against its definition", () => {
  it("match on tied scores, tiny and perfectly separated samples", () => {
    const names = Object.keys(aurocSets);
    names.forEach((name, j) => {
      const theirs = oracle[Object.keys(binarySets).length + j] as Estimate & { valueDefinition: number };
      const ours = auroc(aurocSets[name as keyof typeof aurocSets], 0.9);
      expect(ours.value, `${name} value vs roc_auc_score`).toBeCloseTo(theirs.value!, 12);
      if (name !== "weighted") {
        expect(ours.ciLow, `${name} ciLow`).toBeCloseTo(theirs.ciLow!, 12);
        expect(ours.ciHigh, `${name} ciHigh`).toBeCloseTo(theirs.ciHigh!, 12);
      }
    });
  });

  it("with equal weights is the unweighted DeLong; needs both classes", () => {
    const plain = auroc(aurocSets.ties, 0.95);
    const scaled = auroc(
      aurocSets.ties.map((c) => ({ ...c, weight: 3 })),
      0.95,
    );
    expectEstimate(scaled, plain, 12, "equal weights");
    expect(auroc(binarySets.noPositives, 0.95).value).toBeNull();
  });
});

describe("expected calibration error against scikit-learn's binning and SciPy's bootstrap", () => {
  it("has the same value and a percentile interval within Monte Carlo error of SciPy's", () => {
    const offset = Object.keys(binarySets).length + Object.keys(aurocSets).length;
    Object.entries(eceSets).forEach(([name, cs], j) => {
      const theirs = oracle[offset + j] as Estimate;
      const ours = calibrationError(cs, 0.95, { resamples: 2000, seed: 7 });
      expect(ours.value, name).toBeCloseTo(theirs.value!, 12);
      // Different random streams: the bounds agree to Monte Carlo error (2000 resamples).
      expect(Math.abs(ours.ciLow! - theirs.ciLow!), `${name} ciLow`).toBeLessThan(0.015);
      expect(Math.abs(ours.ciHigh! - theirs.ciHigh!), `${name} ciHigh`).toBeLessThan(0.015);
      expect(ours.ciLow!).toBeLessThanOrEqual(ours.ciHigh!);
    });
  });

  it("is reproducible for a seed and differs across seeds", () => {
    const a = calibrationError(eceSets.small, 0.95, { seed: 3 });
    expect(calibrationError(eceSets.small, 0.95, { seed: 3 })).toEqual(a);
    expect(calibrationError(eceSets.small, 0.95, { seed: 4 }).ciHigh).not.toBe(a.ciHigh);
    expect(calibrationError([], 0.95)).toEqual({
      value: null,
      ciLow: null,
      ciHigh: null,
      n: 0,
      nEffective: 0,
    });
  });
});

describe("MAE and mean Dice against statsmodels' t interval", () => {
  it("match, including two cases and a constant sample", () => {
    const offset =
      Object.keys(binarySets).length + Object.keys(aurocSets).length + Object.keys(eceSets).length;
    expectEstimate(meanAbsoluteError(maePairs, 0.95), oracle[offset] as Estimate, 10, "mae");
    Object.entries(diceSets).forEach(([name, values], j) => {
      const theirs = oracle[offset + 1 + j] as Estimate;
      const ours = meanDice(values, 0.95);
      expect(ours.value, name).toBeCloseTo(theirs.value!, 12);
      // Ours is clipped to [0, 1]; statsmodels' is not.
      expect(ours.ciLow, name).toBeCloseTo(Math.max(0, theirs.ciLow ?? ours.value!), 10);
      expect(ours.ciHigh, name).toBeCloseTo(Math.min(1, theirs.ciHigh ?? ours.value!), 10);
    });
  });

  it("gives a value without an interval for one case, nothing for none, and refuses impossible Dice values", () => {
    expect(meanDice([0.9], 0.95)).toEqual({ value: 0.9, ciLow: null, ciHigh: null, n: 1, nEffective: 1 });
    expect(meanAbsoluteError([], 0.95).value).toBeNull();
    expect(() => meanDice([1.2], 0.95)).toThrow(RangeError);
  });
});
