/**
 * What `medmlops dataset materialize` writes and a trainer or `medmlops evaluate` reads (the trainer contract,
 * docs/retraining.md):
 *
 *   <dir>/dataset.json        { format, datasetId, manifestSha256, split, cases: n, features: [names, sorted] }
 *   <dir>/cases.jsonl         one CaseLine per case, sorted by caseId
 *   <dir>/images/<caseId>.dcm the kept DICOM instance, de-identified again under the job's deid spec (when kept)
 */
import { z } from "zod";

export const DATASET_FORMAT = "medmlops.io/materialized-dataset/v1";

export const LabelSchema = z
  .object({ positive: z.boolean().optional(), value: z.number().optional() })
  .nullable();

export const CaseLineSchema = z.object({
  caseId: z.string().min(1).max(128),
  site: z.string().nullable(),
  label: LabelSchema,
  features: z.record(z.string(), z.number()),
  image: z.string().optional(),
});
export type CaseLine = z.infer<typeof CaseLineSchema>;

export const DatasetFileSchema = z.object({
  format: z.literal(DATASET_FORMAT),
  datasetId: z.string(),
  manifestSha256: z.string().regex(/^[a-f0-9]{64}$/),
  split: z.enum(["train", "test"]),
  cases: z.number().int().min(0),
  features: z.array(z.string()),
});
export type DatasetFile = z.infer<typeof DatasetFileSchema>;

/** A case's feature vector in the dataset's feature order (missing features are 0: documented). */
export function featureVector(c: CaseLine, names: readonly string[]): number[] {
  return names.map((n) => c.features[n] ?? 0);
}
