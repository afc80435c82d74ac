/** HTTP shapes of the monitor's dataset routes (routes/datasets.ts) and their client (client.ts). zod only. */
import { z } from "zod";
import { DatasetSchema } from "../../crds/retrainjob.ts";
import { CaseLineSchema } from "../../retrain/data-format.ts";

export const DatasetId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be letters, digits, '.', '_', '-'");

export const FreezeRequestSchema = z.strictObject({
  namespace: z.string().min(1).max(63),
  model: z.string().min(1).max(253),
  /** The RetrainJob's name (for taint listing) — its uid is the dataset id and the split seed. */
  job: z.string().min(1).max(253),
  dataset: DatasetSchema,
  /** Default end of the window when dataset.until is absent: when the job started (RFC 3339). */
  startedAt: z.iso.datetime({ offset: true }),
});
export type FreezeRequest = z.input<typeof FreezeRequestSchema>;

export const DatasetSummarySchema = z.object({
  id: z.string(),
  namespace: z.string(),
  model: z.string(),
  job: z.string(),
  manifestSha256: z.string(),
  cases: z.number().int(),
  testCases: z.number().int(),
  excludedByConsent: z.number().int(),
  historical: z.number().int(),
  sites: z.array(z.string()),
  createdAt: z.string(),
});
export type DatasetSummary = z.infer<typeof DatasetSummarySchema>;

export const DatasetCasesSchema = z.object({
  datasetId: z.string(),
  manifestSha256: z.string(),
  split: z.enum(["train", "test"]),
  cases: z.array(CaseLineSchema.omit({ image: true }).extend({ hasImage: z.boolean() })),
});
export type DatasetCases = z.infer<typeof DatasetCasesSchema>;

export const TaintQuerySchema = z.strictObject({
  pseudonym: z.string().regex(/^pn:[a-f0-9]{64}$/, "must be pn: followed by 64 lowercase hex"),
});
export const TaintedSchema = z.object({
  datasets: z.array(z.object({ id: z.string(), namespace: z.string(), job: z.string() })),
});
export const ErasedCasesSchema = z.object({ erased: z.number().int() });
