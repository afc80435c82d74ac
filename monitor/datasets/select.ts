/**
 * Freezing a dataset, the pure part: from the candidate cases (annotated, in the window, at the sites and
 * modalities asked for) and the consent decisions, choose the cases, mix in the historical fraction and split
 * train/test *by patient*, deterministically from a seed (the RetrainJob's uid), so a re-freeze gives the same
 * manifest and the same sha256.
 *
 * - A patient whose consent denies the dataset's purpose loses every case (counted in excludedByConsent).
 * - Historical (pre-window) cases are added so that they make up `historicalFraction` of the result, as far as
 *   there are enough of them; which ones is decided by the seeded hash order of their patients.
 * - Each patient (a case without a pseudonym is its own patient) goes wholly to test when
 *   hash(seed, patient) < sequesteredTestFraction, so no patient has cases on both sides. With two or more patients
 *   both sides are kept non-empty.
 */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

export interface CaseRow {
  caseId: string;
  patient: string | null;
  site: string | null;
  time: string;
  label: { positive?: boolean; value?: number } | null;
  /** Before the dataset window (since): a historical case. */
  historical: boolean;
}

export interface ManifestCase {
  caseId: string;
  site: string | null;
  split: "train" | "test";
  label: { positive?: boolean; value?: number } | null;
}

export interface Manifest {
  format: "medmlops.io/dataset-manifest/v1";
  datasetId: string;
  seed: string;
  cases: ManifestCase[];
}

export interface Selection {
  manifest: Manifest;
  manifestSha256: string;
  /** case id → patient key, kept in the ledger (never in the manifest) for taint listing. */
  patients: Map<string, string | null>;
  counts: { train: number; test: number; excludedByConsent: number; historical: number; sites: string[] };
}

/** A number in [0, 1) from sha256(seed, key): uniform, stable, independent of input order. */
export function unitHash(seed: string, key: string): number {
  const h = createHash("sha256").update(`${seed}\u0000${key}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

const patientKey = (c: Pick<CaseRow, "caseId" | "patient">) => c.patient ?? `case:${c.caseId}`;

export function selectDataset(
  rows: readonly CaseRow[],
  opts: {
    datasetId: string;
    seed: string;
    historicalFraction: number;
    testFraction: number;
    /** patient pseudonym → false when their consent denies the purpose for this case (time-dependent). */
    permitted: (c: CaseRow) => boolean;
  },
): Selection {
  let excluded = 0;
  const allowed: CaseRow[] = [];
  const deniedPatients = new Set<string>();
  for (const r of rows) if (!opts.permitted(r)) deniedPatients.add(patientKey(r));
  for (const r of rows) {
    if (deniedPatients.has(patientKey(r))) excluded++;
    else allowed.push(r);
  }
  const recent = allowed.filter((r) => !r.historical);
  const older = allowed
    .filter((r) => r.historical)
    .sort(
      (a, b) =>
        unitHash(opts.seed, patientKey(a)) - unitHash(opts.seed, patientKey(b)) || cmp(a.caseId, b.caseId),
    );
  const f = opts.historicalFraction;
  const want = f >= 1 ? older.length : Math.round((recent.length * f) / (1 - f));
  const chosen = [...recent, ...older.slice(0, Math.min(want, older.length))];

  const patients = [...new Set(chosen.map(patientKey))].sort(
    (a, b) => unitHash(opts.seed, a) - unitHash(opts.seed, b) || cmp(a, b),
  );
  const test = new Set(patients.filter((p) => unitHash(opts.seed, p) < opts.testFraction));
  if (patients.length >= 2) {
    if (test.size === 0) test.add(patients[0] as string);
    if (test.size === patients.length) test.delete(patients[patients.length - 1] as string);
  }
  const cases: ManifestCase[] = chosen
    .map((c) => ({
      caseId: c.caseId,
      site: c.site,
      split: test.has(patientKey(c)) ? ("test" as const) : ("train" as const),
      label: c.label,
    }))
    .sort((a, b) => cmp(a.caseId, b.caseId));
  const manifest: Manifest = {
    format: "medmlops.io/dataset-manifest/v1",
    datasetId: opts.datasetId,
    seed: opts.seed,
    cases,
  };
  return {
    manifest,
    manifestSha256: manifestSha256(manifest),
    patients: new Map(chosen.map((c) => [c.caseId, c.patient])),
    counts: {
      train: cases.filter((c) => c.split === "train").length,
      test: cases.filter((c) => c.split === "test").length,
      excludedByConsent: excluded,
      historical: chosen.filter((c) => c.historical).length,
      sites: [...new Set(chosen.map((c) => c.site).filter((s): s is string => s !== null))].sort(),
    },
  };
}

/** sha256 of the manifest's RFC 8785 canonical JSON: what status.dataset.manifestSha256 holds. */
export function manifestSha256(m: Manifest): string {
  return createHash("sha256")
    .update(canonicalize(m) ?? "")
    .digest("hex");
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
