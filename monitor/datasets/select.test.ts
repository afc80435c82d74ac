import { describe, expect, it } from "vitest";
import { consentPermits, deniesEverything } from "../consent-decision.ts";
import { type CaseRow, manifestSha256, selectDataset } from "./select.ts";

const pn = (i: number) => `pn:${i.toString(16).padStart(64, "0")}`;

/** 60 patients with 1–4 cases each over two sites; a quarter before the window. */
function rows(): CaseRow[] {
  const out: CaseRow[] = [];
  let k = 0;
  for (let p = 0; p < 60; p++) {
    for (let c = 0; c <= p % 4; c++) {
      out.push({
        caseId: `case-${k++}`,
        patient: pn(p),
        site: p % 2 ? "site-a" : "site-b",
        time: "2026-06-01T00:00:00Z",
        label: { positive: (p + c) % 3 === 0 },
        historical: p % 4 === 0,
      });
    }
  }
  return out;
}

const base = {
  datasetId: "ds",
  seed: "uid-1",
  historicalFraction: 0.2,
  testFraction: 0.25,
  permitted: () => true,
};

describe("freezing a dataset", () => {
  it("splits by patient: no patient has cases in both train and test", () => {
    for (const seed of ["a", "b", "c", "d"]) {
      const s = selectDataset(rows(), { ...base, seed });
      const side = new Map<string, string>();
      for (const c of s.manifest.cases) {
        const p = s.patients.get(c.caseId) as string;
        expect(side.get(p) ?? c.split).toBe(c.split);
        side.set(p, c.split);
      }
      expect(s.counts.test).toBeGreaterThan(0);
      expect(s.counts.train).toBeGreaterThan(s.counts.test);
    }
  });

  it("is deterministic for a seed whatever the input order, and differs between seeds", () => {
    const a = selectDataset(rows(), base);
    const b = selectDataset([...rows()].reverse(), base);
    expect(b.manifestSha256).toBe(a.manifestSha256);
    expect(manifestSha256(a.manifest)).toBe(a.manifestSha256);
    expect(selectDataset(rows(), { ...base, seed: "uid-2" }).manifestSha256).not.toBe(a.manifestSha256);
  });

  it("drops every case of a patient whose consent denies the purpose and counts them", () => {
    const denied = new Set([pn(3), pn(7)]);
    const s = selectDataset(rows(), { ...base, permitted: (c) => !denied.has(c.patient as string) });
    expect(s.counts.excludedByConsent).toBe(4 + 4);
    expect([...s.patients.values()].some((p) => denied.has(p as string))).toBe(false);
  });

  it("mixes in the historical fraction", () => {
    const r = rows();
    const recent = r.filter((c) => !c.historical).length;
    const s = selectDataset(r, { ...base, historicalFraction: 0.05 });
    expect(s.counts.historical).toBe(Math.round((recent * 0.05) / 0.95));
    // never more than there are
    expect(selectDataset(r, { ...base, historicalFraction: 0.5 }).counts.historical).toBe(15);
    expect(selectDataset(r, { ...base, historicalFraction: 0 }).counts.historical).toBe(0);
  });
});

describe("consent decisions", () => {
  const optOut = { decision: "Deny" as const, provisions: [], state: "Active" as const };
  it("deny-all denies everything, Inactive denies nothing", () => {
    expect(consentPermits(optOut, { purpose: "SYSDEV", model: "m" })).toBe(false);
    expect(deniesEverything(optOut)).toBe(true);
    expect(consentPermits({ ...optOut, state: "Inactive" }, { purpose: "SYSDEV", model: "m" })).toBe(true);
  });
  it("a provision applies only to its purposes, models and period; Deny wins", () => {
    const spec = {
      decision: "Permit" as const,
      state: "Active" as const,
      provisions: [
        {
          decision: "Deny" as const,
          purposes: ["SYSDEV" as const],
          models: ["cxr"],
          period: { start: "2026-01-01T00:00:00Z", end: "2026-07-01T00:00:00Z" },
        },
      ],
    };
    const at = new Date("2026-03-01T00:00:00Z");
    expect(consentPermits(spec, { purpose: "SYSDEV", model: "cxr", at })).toBe(false);
    expect(consentPermits(spec, { purpose: "HQUALIMP", model: "cxr", at })).toBe(true);
    expect(consentPermits(spec, { purpose: "SYSDEV", model: "other", at })).toBe(true);
    expect(
      consentPermits(spec, { purpose: "SYSDEV", model: "cxr", at: new Date("2026-08-01T00:00:00Z") }),
    ).toBe(true);
    expect(deniesEverything(spec)).toBe(false);
  });
});
