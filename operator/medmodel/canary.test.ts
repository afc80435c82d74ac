import { describe, expect, it } from "vitest";
import { canarySplit, canarySteps } from "./canary.ts";
import { parseDurationMs } from "../runtime/duration.ts";

describe("canarySplit", () => {
  it.each([
    [4, 0, 0, 4],
    [4, 25, 1, 3],
    [4, 50, 2, 2],
    [4, 75, 3, 1],
    [4, 100, 4, 0],
    [10, 10, 1, 9],
    [10, 15, 2, 8],
    [1, 10, 1, 1],
    [1, 100, 1, 0],
    [2, 99, 2, 1],
    [0, 50, 0, 0],
  ])("total %i at %i%% → canary %i, stable %i", (total, weight, canary, stable) => {
    expect(canarySplit(total, weight)).toEqual({ canary, stable });
  });
});

describe("canarySteps", () => {
  it("reads rollout.steps", () => {
    const versions = [{ name: "v1", source: { uri: "pvc://a/b", sha256: "x" } }];
    expect(canarySteps({ versions, rollout: { steps: [{ weight: 10 }] } })).toEqual([{ weight: 10 }]);
    expect(canarySteps({ versions })).toEqual([]);
  });
});

describe("parseDurationMs", () => {
  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["10m", 600_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
    ["7d", 604_800_000],
  ])("%s → %i ms", (s, ms) => expect(parseDurationMs(s)).toBe(ms));
  it.each([
    ["", undefined],
    ["10", undefined],
    ["s", undefined],
    ["-1s", undefined],
    ["1w", undefined],
  ])("refuses %j", (s) => expect(parseDurationMs(s)).toBeUndefined());
  it("undefined stays undefined", () => expect(parseDurationMs(undefined)).toBeUndefined());
});
