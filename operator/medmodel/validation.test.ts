import { describe, expect, it } from "vitest";
import { policiesFor, verdictsFor } from "./validation.ts";

const policy = (model: string, results: { version: string; metrics?: { pass: boolean }[] }[]) => ({
  spec: { modelRef: { name: model } },
  status: { results },
});

describe("verdictsFor", () => {
  it.each([
    ["no policy", [], {}],
    ["no results yet", [policy("m", [])], {}],
    ["insufficient data (no metrics)", [policy("m", [{ version: "v2", metrics: [] }])], {}],
    [
      "all pass",
      [policy("m", [{ version: "v2", metrics: [{ pass: true }, { pass: true }] }])],
      { v2: "Passed" },
    ],
    [
      "one fails",
      [policy("m", [{ version: "v2", metrics: [{ pass: true }, { pass: false }] }])],
      { v2: "Failed" },
    ],
    [
      "two policies, one still pending",
      [policy("m", [{ version: "v2", metrics: [{ pass: true }] }]), policy("m", [])],
      {},
    ],
    [
      "two policies, one fails",
      [
        policy("m", [{ version: "v2", metrics: [{ pass: true }] }]),
        policy("m", [{ version: "v2", metrics: [{ pass: false }] }]),
      ],
      { v2: "Failed" },
    ],
  ])("%s", (_n, policies, expected) => expect(verdictsFor(["v1", "v2"], policies)).toEqual(expected));

  it("only counts policies of this model", () => {
    const ps = [policy("m", []), policy("other", [{ version: "v2", metrics: [{ pass: false }] }])];
    expect(policiesFor("m", ps)).toHaveLength(1);
  });
});
