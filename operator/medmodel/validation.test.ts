import { describe, expect, it } from "vitest";
import { policiesFor, policyRequestsFor, verdictsFor } from "./validation.ts";

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

describe("policyRequestsFor", () => {
  const p = (episodes: unknown[]) =>
    ({ metadata: { name: "pol" }, spec: { modelRef: { name: "m" } }, status: { episodes } }) as never;
  it("reads Failover from open episodes and Suspend from any unresumed one", () => {
    const r = policyRequestsFor([
      p([
        { key: "breach-v2-a", version: "v2", actions: ["Alert", "Failover"] },
        { key: "drift-v1-b", version: "v1", actions: ["Failover"], endedAt: "2026-01-01T00:00:00Z" },
        {
          key: "breach-v3-c",
          version: "v3",
          actions: ["Suspend"],
          endedAt: "2026-01-01T00:00:00Z",
          reason: "why",
        },
        {
          key: "breach-v3-d",
          version: "v3",
          actions: ["Suspend"],
          resumed: { by: "x", reason: "y", at: "z" },
        },
      ]),
    ]);
    expect(r).toEqual({
      failover: ["v2"],
      suspend: { policy: "pol", episode: "breach-v3-c", reason: "why" },
    });
    expect(policyRequestsFor([])).toEqual({ failover: [] });
  });
});
