/**
 * The change-control gate on a candidate (FDA PCCP; EU AI Act Art. 15): pure, from the evaluation report and the
 * ValidationPolicy's `changeControl`.
 *  1. `Retraining` must be among `allowedModifications`.
 *  2. Every floor (`performanceFloors`, default: the policy's metric `min`s) holds on the candidate's *lower
 *     confidence bound*, overall and — with `perSite` — at every site. A floor whose metric was not measured, or
 *     whose bound is undefined (too few cases), fails: no evidence is not a pass.
 *  3. No site is worse than the compared-to version by more than `maxSiteDegradation` on any metric (point
 *     estimates; lower-is-better metrics count an increase as the loss).
 */
import { type EvaluationReport, LOWER_IS_BETTER } from "../../monitor/datasets/report.ts";

export interface ChangeControl {
  allowedModifications: readonly string[];
  floors: readonly { metric: string; min: number }[];
  maxSiteDegradation: number;
}

export interface GateRow {
  site: string;
  metric: string;
  baseline: number;
  candidate: number;
  pass: boolean;
}

export type GateReason = "ModificationNotAllowed" | "BelowFloor" | "SiteDegradation" | "FloorNotMeasured";

export interface GateResult {
  pass: boolean;
  reason?: GateReason;
  /** Human text naming the failing metric and site (sites are hospital codes, never patient data). */
  message: string;
  rows: GateRow[];
}

export function gate(report: EvaluationReport, cc: ChangeControl, perSite: boolean): GateResult {
  const failures: { reason: GateReason; text: string }[] = [];
  if (!cc.allowedModifications.includes("Retraining")) {
    failures.push({
      reason: "ModificationNotAllowed",
      text: "Retraining is not in the policy's changeControl.allowedModifications",
    });
  }
  const considered = report.rows.filter((r) => perSite || r.site === "*");
  const rows: GateRow[] = [];
  for (const r of considered) {
    let pass = true;
    const floor = cc.floors.find((f) => f.metric === r.metric);
    if (floor) {
      const low = r.candidate.ciLow;
      if (low === null || low < floor.min) {
        pass = false;
        failures.push({
          reason: "BelowFloor",
          text: `${r.metric} at site ${r.site}: lower bound ${low === null ? "undefined" : low.toFixed(3)} < floor ${floor.min}`,
        });
      }
    }
    const b = r.base.value;
    const c = r.candidate.value;
    if (b !== null && c !== null) {
      const loss = LOWER_IS_BETTER.has(r.metric) ? c - b : b - c;
      if (loss > cc.maxSiteDegradation + 1e-12) {
        pass = false;
        failures.push({
          reason: "SiteDegradation",
          text: `${r.metric} at site ${r.site}: ${c.toFixed(3)} vs ${b.toFixed(3)} for the compared-to version (limit ${cc.maxSiteDegradation})`,
        });
      }
    }
    rows.push({ site: r.site, metric: r.metric, baseline: b ?? 0, candidate: c ?? 0, pass });
  }
  for (const f of cc.floors) {
    if (!considered.some((r) => r.metric === f.metric && r.site === "*")) {
      failures.push({ reason: "FloorNotMeasured", text: `floor metric ${f.metric} was not measured` });
    }
  }
  const first = failures[0];
  if (!first)
    return { pass: true, message: `candidate meets ${cc.floors.length} floor(s) at every site`, rows };
  return {
    pass: false,
    reason: first.reason,
    message: failures
      .slice(0, 5)
      .map((f) => f.text)
      .join("; "),
    rows,
  };
}
