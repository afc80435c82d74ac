import { describe, expect, it } from "vitest";
import { EventDeduper } from "./event-dedupe.ts";

describe("EventDeduper", () => {
  it("creates once, then updates the series at most every 30 s, and drops in between", () => {
    const d = new EventDeduper();
    expect(d.decide("k", 0)).toEqual({ action: "create" });
    d.created("k", "ev-1");
    expect(d.decide("k", 1_000)).toEqual({ action: "drop" });
    expect(d.decide("k", 29_999)).toEqual({ action: "drop" });
    expect(d.decide("k", 30_000)).toEqual({ action: "series", name: "ev-1", count: 4 });
    expect(d.decide("k", 31_000)).toEqual({ action: "drop" });
  });

  it("starts a new Event after the series window", () => {
    const d = new EventDeduper({ seriesWindowMs: 60_000 });
    d.decide("k", 0);
    d.created("k", "ev-1");
    expect(d.decide("k", 60_000)).toEqual({ action: "create" });
  });

  it("keeps different keys apart", () => {
    const d = new EventDeduper();
    expect(d.decide("a", 0).action).toBe("create");
    expect(d.decide("b", 0).action).toBe("create");
  });

  it("drops repeats whose create has not been acknowledged yet", () => {
    const d = new EventDeduper();
    d.decide("k", 0);
    expect(d.decide("k", 40_000)).toEqual({ action: "drop" });
  });

  it("caps new Events with a token bucket", () => {
    const d = new EventDeduper({ burst: 3, perSec: 1 });
    const out = ["a", "b", "c", "d"].map((k) => d.decide(k, 0).action);
    expect(out).toEqual(["create", "create", "create", "drop"]);
    expect(d.decide("e", 1_000).action).toBe("create");
  });

  it("forgets the oldest key when full", () => {
    const d = new EventDeduper({ maxEntries: 2 });
    d.decide("a", 0);
    d.decide("b", 0);
    d.decide("c", 0);
    expect(d.decide("a", 1).action).toBe("create");
  });
});
