import { describe, expect, it } from "vitest";
import { findCondition, isConditionTrue, removeCondition, setCondition, toRfc3339 } from "./conditions.ts";
import type { Condition } from "./types.ts";

const t0 = new Date("2026-01-01T00:00:00.123Z");
const t1 = new Date("2026-01-01T00:05:00Z");

describe("setCondition", () => {
  it("adds a new condition stamped with now (second precision)", () => {
    const out = setCondition(
      undefined,
      { type: "Ready", status: "True", reason: "AllReady", message: "ok" },
      t0,
    );
    expect(out).toEqual([
      {
        type: "Ready",
        status: "True",
        reason: "AllReady",
        message: "ok",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ]);
  });

  it("keeps lastTransitionTime when status does not flip but updates reason, message, observedGeneration", () => {
    const a = setCondition([], { type: "Ready", status: "False", reason: "Waiting", message: "a" }, t0);
    const b = setCondition(
      a,
      { type: "Ready", status: "False", reason: "StillWaiting", message: "b", observedGeneration: 3 },
      t1,
    );
    expect(b[0]).toEqual({
      type: "Ready",
      status: "False",
      reason: "StillWaiting",
      message: "b",
      lastTransitionTime: "2026-01-01T00:00:00Z",
      observedGeneration: 3,
    });
  });

  it("moves lastTransitionTime when status flips", () => {
    const a = setCondition([], { type: "Ready", status: "False", reason: "Waiting", message: "" }, t0);
    const b = setCondition(a, { type: "Ready", status: "True", reason: "Ready", message: "" }, t1);
    expect(b[0]?.lastTransitionTime).toBe("2026-01-01T00:05:00Z");
    const c = setCondition(b, { type: "Ready", status: "Unknown", reason: "Lost", message: "" }, t0);
    expect(c[0]?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
  });

  it("does not mutate its input and keeps the order of other conditions", () => {
    const input: Condition[] = [
      { type: "A", status: "True", reason: "r", message: "", lastTransitionTime: "x" },
      { type: "B", status: "True", reason: "r", message: "", lastTransitionTime: "y" },
    ];
    const frozen = structuredClone(input);
    const out = setCondition(input, { type: "A", status: "False", reason: "r2", message: "" }, t1);
    expect(input).toEqual(frozen);
    expect(out.map((c) => c.type)).toEqual(["A", "B"]);
    expect(out[0]?.status).toBe("False");
  });

  it("honours an explicit lastTransitionTime only for a transition", () => {
    const a = setCondition(
      [],
      { type: "X", status: "True", reason: "r", message: "", lastTransitionTime: "T" },
      t0,
    );
    expect(a[0]?.lastTransitionTime).toBe("T");
  });

  it("find / isTrue / remove", () => {
    const a = setCondition([], { type: "Ready", status: "True", reason: "r", message: "" }, t0);
    expect(findCondition(a, "Ready")?.reason).toBe("r");
    expect(isConditionTrue(a, "Ready")).toBe(true);
    expect(isConditionTrue(a, "Degraded")).toBe(false);
    expect(removeCondition(a, "Ready")).toEqual([]);
    expect(toRfc3339(t1)).toBe("2026-01-01T00:05:00Z");
  });
});
