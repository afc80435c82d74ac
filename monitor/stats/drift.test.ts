/**
 * Every drift statistic against SciPy on the same raw data (test/oracles/stats_oracle.py, one Python process):
 * seeded samples with shifts, scale changes, ties, point masses, empty bins, constant features and tiny windows.
 * KS and Wasserstein are computed here from the binned summaries and compared with SciPy's exact values on the raw
 * arrays; the largest errors are printed (docs/statistics.md records them) and must stay under 0.02.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../test/support/mulberry32.ts";
import { normalSampler, sample } from "../../test/support/samples.ts";
import { runOracle } from "../../test/oracles/python.ts";
import { referenceEdges } from "./binning.ts";
import { categoricalDrift, DriftTestNotApplicable, numericDrift } from "./drift.ts";
import { kolmogorovSf } from "./kolmogorov.ts";
import { chiSquaredSf } from "./chi-squared.ts";
import { summarize } from "./summary.ts";
import type { CategoryCounts } from "./profile.ts";

const BOUND = 0.02;
const normal = normalSampler(20261204);
const uniform = mulberry32(7);

interface Scenario {
  name: string;
  reference: number[];
  current: number[];
}

const scenarios: Scenario[] = [
  {
    name: "same distribution",
    reference: sample(5000, () => normal()),
    current: sample(2000, () => normal()),
  },
  {
    name: "shift 0.25 sd",
    reference: sample(5000, () => normal()),
    current: sample(2000, () => normal(0.25)),
  },
  { name: "shift 1 sd", reference: sample(5000, () => normal()), current: sample(2000, () => normal(1)) },
  {
    name: "shift 3 sd (outer bin)",
    reference: sample(5000, () => normal()),
    current: sample(2000, () => normal(3)),
  },
  {
    name: "shift -6 sd (below min)",
    reference: sample(5000, () => normal()),
    current: sample(500, () => normal(-6)),
  },
  { name: "scale x2", reference: sample(5000, () => normal()), current: sample(2000, () => normal(0, 2)) },
  {
    name: "scale x0.3",
    reference: sample(5000, () => normal()),
    current: sample(2000, () => normal(0, 0.3)),
  },
  {
    name: "lognormal intensities, gain 1.2",
    reference: sample(5000, () => Math.exp(normal(5, 0.5))),
    current: sample(3000, () => 1.2 * Math.exp(normal(5, 0.5))),
  },
  {
    name: "integer ties (rounded)",
    reference: sample(4000, () => Math.round(normal(0, 2))),
    current: sample(2000, () => Math.round(normal(0.5, 2))),
  },
  {
    name: "point mass 70% at 0",
    reference: sample(4000, () => (uniform() < 0.7 ? 0 : normal(1))),
    current: sample(2000, () => (uniform() < 0.5 ? 0 : normal(1.5))),
  },
  {
    name: "current in one narrow range (empty bins)",
    reference: sample(5000, () => normal()),
    current: sample(1000, () => 0.1 + 0.05 * uniform()),
  },
  {
    name: "constant reference",
    reference: new Array(500).fill(5),
    current: sample(300, () => normal(5, 0.01)),
  },
  { name: "constant both", reference: new Array(500).fill(5), current: new Array(200).fill(5) },
  { name: "tiny windows", reference: sample(30, () => normal()), current: sample(8, () => normal(0.8)) },
  { name: "tiny current", reference: sample(5000, () => normal()), current: sample(3, () => normal(1)) },
];

interface KsOracle {
  statistic: number;
  pValueAsymp: number;
}
interface WassersteinOracle {
  raw: number;
  normalised: number;
}
interface ProportionOracle {
  psi: number;
  js: number;
  chi2: { statistic: number; pValue: number };
}

let ks: KsOracle[];
let wasserstein: WassersteinOracle[];
let deciles: ProportionOracle[];
let categorical: ProportionOracle[];
let kstwo: number[];
let chi2: number[];

const kstwoPoints: [number, number][] = [
  [0.5, 3],
  [0.3, 10],
  [0.12, 57],
  [0.05, 400],
  [0.03, 1428],
  [0.02, 1428],
  [0.015, 5000],
  [0.01, 20000],
  [0.004, 200000],
  [0.02, 200000],
  [0.2, 500],
  [0.1, 500],
  [0.08, 500],
  [0.09, 1000],
  [0.06, 1000],
  [0.04, 5000],
  [0.25, 100],
  [0.35, 50],
];
const chi2Points: [number, number][] = [
  [0.5, 1],
  [3.84, 1],
  [20, 9],
  [150, 9],
  [0.01, 4],
  [900, 99],
];

const categoricalCases: { reference: CategoryCounts; current: CategoryCounts }[] = [
  { reference: { CT: 500, MR: 300, CR: 200 }, current: { CT: 50, MR: 30, CR: 20 } },
  { reference: { GE: 400, Siemens: 350, Philips: 250 }, current: { GE: 20, Siemens: 70, Philips: 10 } },
  { reference: { GE: 400, Siemens: 600 }, current: { GE: 40, Siemens: 50, Canon: 10 } },
  { reference: { A: 10, B: 0, C: 5 }, current: { A: 3, C: 9 } },
  { reference: { only: 100 }, current: { only: 7 } },
];

beforeAll(async () => {
  const results = await runOracle([
    ...scenarios.map((s) => ({ op: "ks", reference: s.reference, current: s.current })),
    ...scenarios.map((s) => ({ op: "wasserstein", reference: s.reference, current: s.current })),
    ...scenarios.map((s) => ({ op: "deciles", reference: s.reference, current: s.current })),
    ...categoricalCases.map((c) => ({ op: "categorical", reference: c.reference, current: c.current })),
    { op: "kstwo_sf", points: kstwoPoints },
    { op: "chi2_sf", points: chi2Points },
  ]);
  const k = scenarios.length;
  ks = results.slice(0, k) as KsOracle[];
  wasserstein = results.slice(k, 2 * k) as WassersteinOracle[];
  deciles = results.slice(2 * k, 3 * k) as ProportionOracle[];
  categorical = results.slice(3 * k, 3 * k + categoricalCases.length) as ProportionOracle[];
  kstwo = results[3 * k + categoricalCases.length] as number[];
  chi2 = results[3 * k + categoricalCases.length + 1] as number[];
}, 600_000);

function summaries(s: Scenario) {
  const edges = referenceEdges(s.reference);
  return { reference: summarize(edges, s.reference), current: summarize(edges, s.current) };
}

describe("binned KS and Wasserstein against SciPy's exact values on the raw data", () => {
  it(`stay within ${BOUND} on every scenario (largest errors printed)`, () => {
    const rows: string[] = [];
    let worstKs = 0;
    let worstW = 0;
    scenarios.forEach((s, i) => {
      const { reference, current } = summaries(s);
      const k = numericDrift("ks", reference, current);
      const w = numericDrift("wasserstein", reference, current);
      const ksErr = ks[i]!.statistic - k.statistic;
      const wErr = Math.abs(w.statistic - wasserstein[i]!.normalised);
      // The binned KS statistic is the exact ECDF difference at the edges: never above the exact statistic.
      expect(ksErr, s.name).toBeGreaterThanOrEqual(-1e-12);
      expect(ksErr, s.name).toBeLessThan(BOUND);
      expect(wErr, s.name).toBeLessThan(BOUND);
      worstKs = Math.max(worstKs, ksErr);
      worstW = Math.max(worstW, wErr);
      rows.push(
        `${s.name.padEnd(42)} KS ${k.statistic.toFixed(4)} vs ${ks[i]!.statistic.toFixed(4)} (err ${ksErr.toExponential(1)})` +
          `  W1/sd ${w.statistic.toFixed(4)} vs ${wasserstein[i]!.normalised.toFixed(4)} (err ${wErr.toExponential(1)})` +
          `  p ${k.pValue!.toExponential(2)} vs asymp ${ks[i]!.pValueAsymp.toExponential(2)}`,
      );
    });
    console.log(
      `binned vs exact (DEFAULT_BINS edges):\n${rows.join("\n")}\nworst KS ${worstKs}, worst W1/sd ${worstW}`,
    );
  });

  it("reports the KS p-value SciPy's asymptotic method gives for the same D", () => {
    scenarios.forEach((s, i) => {
      const { reference, current } = summaries(s);
      const k = numericDrift("ks", reference, current);
      // Same D → same p (where the binned D equals the exact one, which it does when no edge hides the maximum).
      if (Math.abs(k.statistic - ks[i]!.statistic) < 1e-12) {
        expect(k.pValue!, s.name).toBeCloseTo(ks[i]!.pValueAsymp, 3);
      }
    });
  });
});

describe("the Kolmogorov and chi-squared tails against scipy.stats.kstwo.sf and chi2.sf", () => {
  it("agree on a grid from tiny to large n", () => {
    kstwoPoints.forEach(([d, n], i) => {
      const ours = kolmogorovSf(d, n);
      const label = `kstwo.sf(${d}, ${n}) = ${kstwo[i]}, ours ${ours}`;
      expect(Math.abs(ours - kstwo[i]!), label).toBeLessThan(1e-3);
      // Relative error: ≤ 3% down to 1e-10 (the Marsaglia–Tsang–Wang closed-form tail), ≤ 20% beyond.
      expect(Math.abs(ours / kstwo[i]! - 1), label).toBeLessThan(kstwo[i]! >= 1e-10 ? 0.03 : 0.2);
    });
    chi2Points.forEach(([x, k], i) => {
      expect(chiSquaredSf(x, k) / chi2[i]!, `chi2.sf(${x}, ${k})`).toBeCloseTo(1, 9);
    });
  });
});

describe("PSI, Jensen–Shannon and chi-squared on the reference deciles against SciPy/Evidently from raw data", () => {
  it("match on every scenario", () => {
    scenarios.forEach((s, i) => {
      const { reference, current } = summaries(s);
      const o = deciles[i]!;
      expect(numericDrift("psi", reference, current).statistic, s.name).toBeCloseTo(o.psi, 9);
      expect(numericDrift("js", reference, current).statistic, s.name).toBeCloseTo(o.js, 9);
      const c = numericDrift("chi2", reference, current);
      expect(c.statistic, s.name).toBeCloseTo(o.chi2.statistic, 6);
      expect(c.pValue!, s.name).toBeCloseTo(o.chi2.pValue, 9);
    });
  });

  it("flag the shifts and not the unchanged distribution", () => {
    const at = (name: string) => summaries(scenarios.find((s) => s.name === name)!);
    const same = at("same distribution");
    const shifted = at("shift 1 sd");
    expect(numericDrift("psi", same.reference, same.current).statistic).toBeLessThan(0.1);
    expect(numericDrift("psi", shifted.reference, shifted.current).statistic).toBeGreaterThan(0.2);
    expect(numericDrift("ks", same.reference, same.current).pValue).toBeGreaterThan(0.01);
    expect(numericDrift("ks", shifted.reference, shifted.current).pValue).toBeLessThan(1e-6);
    expect(numericDrift("wasserstein", shifted.reference, shifted.current).statistic).toBeGreaterThan(0.9);
  });
});

describe("categorical drift against SciPy", () => {
  it("matches PSI, JS and the chi-squared homogeneity test, new and missing categories included", () => {
    categoricalCases.forEach((c, i) => {
      const o = categorical[i]!;
      expect(categoricalDrift("psi", c.reference, c.current).statistic).toBeCloseTo(o.psi, 9);
      expect(categoricalDrift("js", c.reference, c.current).statistic).toBeCloseTo(o.js, 9);
      const x = categoricalDrift("chi2", c.reference, c.current);
      expect(x.statistic).toBeCloseTo(o.chi2.statistic, 6);
      expect(x.pValue!).toBeCloseTo(o.chi2.pValue, 9);
    });
  });

  it("refuses ks and wasserstein on categories with a stable code", () => {
    expect(() => categoricalDrift("ks", { a: 1 }, { a: 1 })).toThrow(DriftTestNotApplicable);
    try {
      categoricalDrift("wasserstein", { a: 1 }, { b: 1 });
    } catch (err) {
      expect((err as DriftTestNotApplicable).code).toBe("DRIFT_TEST_NOT_APPLICABLE");
    }
  });
});

describe("edge cases", () => {
  it("returns no drift on an empty window and refuses summaries on other edges", () => {
    const ref = summarize([0, 1], [0, 0.5, 2]);
    const empty = summarize([0, 1], []);
    for (const t of ["psi", "js", "ks", "wasserstein", "chi2"] as const) {
      expect(numericDrift(t, ref, empty).statistic).toBe(0);
    }
    expect(() => numericDrift("ks", ref, summarize([0], [1]))).toThrow(RangeError);
  });
});
