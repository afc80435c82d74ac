import { describe, expect, it } from "vitest";
import { caseUniform, countDecision, emptyTraffic, inclusionProbability } from "./sampling.ts";

describe("inclusion probability", () => {
  const random = { rate: 0.05, strategy: "Random" as const, minPerWindow: 0 };
  it("is the rate under Random, and 1 while minPerWindow is not met", () => {
    const s = emptyTraffic();
    expect(inclusionProbability(random, "positive", s)).toBe(0.05);
    expect(inclusionProbability({ ...random, minPerWindow: 2 }, "positive", s)).toBe(1);
    countDecision(s, "negative", true);
    countDecision(s, "negative", true);
    expect(inclusionProbability({ ...random, minPerWindow: 2 }, "positive", s)).toBe(0.05);
  });
  it("equalises expected samples per decision class under StratifiedByPrediction", () => {
    const strat = { rate: 0.1, strategy: "StratifiedByPrediction" as const, minPerWindow: 0 };
    const s = emptyTraffic();
    for (let i = 0; i < 900; i++) countDecision(s, "negative", false);
    for (let i = 0; i < 100; i++) countDecision(s, "positive", false);
    const pPos = inclusionProbability(strat, "positive", s);
    const pNeg = inclusionProbability(strat, "negative", s);
    // expected samples per class equal, total ≈ rate · N
    expect(pPos * 101).toBeCloseTo(pNeg * 901, 0);
    expect(Math.abs(pPos * 100 + pNeg * 900 - 0.1 * 1000)).toBeLessThan(1);
    expect(pPos).toBeLessThanOrEqual(1);
  });
  it("draws the same uniform for the same case, spread over [0, 1)", () => {
    expect(caseUniform("n", "m", "c1")).toBe(caseUniform("n", "m", "c1"));
    const u = Array.from({ length: 2000 }, (_, i) => caseUniform("n", "m", `c${i}`));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(u.filter((x) => x < 0.25).length / 2000).toBeCloseTo(0.25, 1);
  });
});
