import { describe, expect, it } from "vitest";
import {
  idChunks,
  pauseAfterBatch,
  retentionCutoff,
  sweepDue,
  windowPastRetention,
} from "./retention-decision.ts";

const t = (s: string) => new Date(s);

describe("retention decisions", () => {
  it("the cutoff is now minus N whole days", () => {
    expect(retentionCutoff(t("2026-12-05T12:00:00Z"), 30).toISOString()).toBe("2026-11-05T12:00:00.000Z");
  });

  it("a sweep is due first and then once per interval", () => {
    const now = t("2026-12-05T12:00:00Z");
    expect(sweepDue(undefined, now, 3_600_000)).toBe(true);
    expect(sweepDue(t("2026-12-05T11:30:00Z"), now, 3_600_000)).toBe(false);
    expect(sweepDue(t("2026-12-05T11:00:00Z"), now, 3_600_000)).toBe(true);
  });

  it("a window reaches past retention when it starts before the cutoff of the later clock", () => {
    const clock = t("2026-12-05T12:00:00Z");
    expect(windowPastRetention(t("2026-11-28T12:00:00Z"), clock, clock, undefined)).toBe(false);
    expect(windowPastRetention(t("2026-11-28T12:00:00Z"), clock, clock, 7)).toBe(false);
    expect(windowPastRetention(t("2026-11-28T11:59:59Z"), clock, clock, 7)).toBe(true);
    // an evaluation asking about an earlier `now` still meets what the sweep (monitor's clock) deleted
    expect(windowPastRetention(t("2026-11-27T12:00:00Z"), t("2026-12-04T12:00:00Z"), clock, 7)).toBe(true);
    expect(windowPastRetention(t("2026-11-29T12:00:00Z"), t("2026-12-06T12:00:00Z"), clock, 7)).toBe(false);
  });

  it("pauses after a batch as long as it took, at least 1 ms, at most 1 s", () => {
    expect(pauseAfterBatch(0)).toBe(1);
    expect(pauseAfterBatch(120.4)).toBe(120);
    expect(pauseAfterBatch(5000)).toBe(1000);
  });

  it("id chunks cover every id once", () => {
    expect(idChunks(1, 10, 4)).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
    expect(idChunks(5, 5, 100)).toEqual([[4, 5]]);
    expect(idChunks(1, 0, 100)).toEqual([]);
  });
});
