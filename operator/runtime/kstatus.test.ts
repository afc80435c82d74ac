import { describe, expect, it } from "vitest";
import { setKstatusConditions } from "./kstatus.ts";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:05:00Z");
const by = <C extends { type: string }>(list: C[], type: string) => list.find((c) => c.type === type);

describe("setKstatusConditions", () => {
  it("Reconciling True and Stalled False while converging", () => {
    const c = setKstatusConditions(
      [],
      { state: "Reconciling", reason: "CanaryInProgress", message: "step 1" },
      4,
      t0,
    );
    expect(by(c, "Reconciling")).toMatchObject({
      status: "True",
      reason: "CanaryInProgress",
      message: "step 1",
    });
    expect(by(c, "Stalled")).toMatchObject({ status: "False", reason: "Reconciling", observedGeneration: 4 });
  });

  it("Stalled True and Reconciling False when it cannot proceed (never both True)", () => {
    const c = setKstatusConditions([], { state: "Stalled", reason: "InvalidSpec", message: "spec.x" }, 4, t0);
    expect(by(c, "Stalled")).toMatchObject({ status: "True", reason: "InvalidSpec" });
    expect(by(c, "Reconciling")).toMatchObject({ status: "False", reason: "Stalled" });
  });

  it("both False when settled; other conditions and their order untouched", () => {
    const ready = {
      type: "Ready",
      status: "True" as const,
      reason: "R",
      message: "",
      lastTransitionTime: "x",
    };
    const c = setKstatusConditions([ready], { state: "Current" }, 4, t0);
    expect(c[0]).toEqual(ready);
    expect(c.map((x) => [x.type, x.status])).toEqual([
      ["Ready", "True"],
      ["Reconciling", "False"],
      ["Stalled", "False"],
    ]);
  });

  it("keeps lastTransitionTime until a status flips", () => {
    const a = setKstatusConditions([], { state: "Reconciling", reason: "R", message: "" }, 1, t0);
    const b = setKstatusConditions(a, { state: "Reconciling", reason: "R2", message: "" }, 1, t1);
    expect(by(b, "Reconciling")?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    const c = setKstatusConditions(b, { state: "Current" }, 1, t1);
    expect(by(c, "Reconciling")?.lastTransitionTime).toBe("2026-01-01T00:05:00Z");
    expect(by(c, "Stalled")?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
  });
});
