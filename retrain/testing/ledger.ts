/**
 * Seeds a real monitor's ledger for retraining tests: records (features that predict the label, so a trained
 * model beats chance), reader annotations and consent rows, written straight into the tables that issue 12's
 * routes fill. Patients are pn:<hex of i>, two sites, two cases per patient.
 */
import type { Db } from "../../monitor/db/index.ts";

export const pseudonym = (i: number) => `pn:${i.toString(16).padStart(64, "0")}`;

export interface SeedOptions {
  namespace: string;
  model: string;
  patients: number;
  /** Cases at or after this time; a quarter of the patients get theirs a year earlier (historical). */
  at: string;
  /** Site b's features are shifted so a model can do worse there than at site a. */
  shiftSiteB?: number;
}

/** Deterministic pseudo-random in [0, 1). */
function rand(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/** One seeded case: a record's identity, site, time and features, and its reader annotation. */
export interface LedgerCase {
  caseId: string;
  patient: string;
  site: string;
  time: string;
  positive: boolean;
  inputs: { "image:f1": number; "image:f2": number };
}

/** The cases seedLedger writes (pure): patients firstPatient… (default 0), two cases each. */
export function ledgerCases(
  o: Omit<SeedOptions, "namespace" | "model"> & { firstPatient?: number },
): LedgerCase[] {
  const out: LedgerCase[] = [];
  const t0 = Date.parse(o.at);
  const first = o.firstPatient ?? 0;
  let k = 0;
  for (let p = first; p < first + o.patients; p++) {
    for (let c = 0; c < 2; c++, k++) {
      const positive = rand(k * 3 + 1) < 0.4;
      const site = p % 2 ? "site-a" : "site-b";
      const noise = rand(k * 3 + 2) - 0.5;
      const f1 = (positive ? 1 : -1) * 0.8 + noise + (site === "site-b" ? (o.shiftSiteB ?? 0) : 0);
      const f2 = rand(k * 3 + 3) - 0.5;
      out.push({
        caseId: `c-${p}-${c}`,
        patient: pseudonym(p),
        site,
        time: new Date(t0 + k * 60_000 - (p % 4 === 0 ? 365 * 86_400_000 : 0)).toISOString(),
        positive,
        inputs: { "image:f1": f1, "image:f2": f2 },
      });
    }
  }
  return out;
}

export async function seedLedger(db: Db, o: SeedOptions): Promise<{ cases: number }> {
  const cases = ledgerCases(o);
  for (const x of cases) {
    await db.query(
      `INSERT INTO records (namespace, model, version, case_id, time, bucket, patient, site, metadata, inputs, outputs)
       VALUES ($1, $2, 'v1', $3, $4::timestamptz, date_trunc('hour', $4::timestamptz), $5, $6, $7, $8, '{}')`,
      [
        o.namespace,
        o.model,
        x.caseId,
        x.time,
        x.patient,
        x.site,
        JSON.stringify({ Modality: "CR" }),
        JSON.stringify(x.inputs),
      ],
    );
    await db.query(
      `INSERT INTO annotations (namespace, model, case_id, source, positive, time) VALUES ($1, $2, $3, 'reader', $4, $5)`,
      [o.namespace, o.model, x.caseId, x.positive, x.time],
    );
  }
  return { cases: cases.length };
}

export async function denyAll(db: Db, patient: string): Promise<void> {
  await db.query(
    `INSERT INTO consent (pseudonym, spec) VALUES ($1, $2) ON CONFLICT (pseudonym) DO UPDATE SET spec = EXCLUDED.spec`,
    [
      patient,
      JSON.stringify({ decision: "Deny", provisions: [], state: "Active", subject: { pseudonym: patient } }),
    ],
  );
}
