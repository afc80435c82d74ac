/**
 * The evaluation report `medmlops evaluate` writes (file or monitor) and the RetrainJob controller gates on.
 * One row per site (and "*" for all sites together) and metric, the candidate's and the compared-to version's
 * estimate each with its confidence interval on the sequestered test split.
 */
import { z } from "zod";

export const EstimateSchema = z.object({
  value: z.number().nullable(),
  ciLow: z.number().nullable(),
  ciHigh: z.number().nullable(),
  n: z.number().int().min(0),
});
export type EstimateRow = z.infer<typeof EstimateSchema>;

export const EvaluationReportSchema = z.object({
  format: z.literal("medmlops.io/evaluation/v1"),
  manifestSha256: z.string().regex(/^[a-f0-9]{64}$/),
  candidateSha256: z.string().regex(/^[a-f0-9]{64}$/),
  baseSha256: z.string().regex(/^[a-f0-9]{64}$/),
  confidence: z.number().min(0.5).max(0.999),
  rows: z
    .array(
      z.object({
        site: z.string().min(1).max(63),
        metric: z.string().min(1).max(63),
        candidate: EstimateSchema,
        base: EstimateSchema,
      }),
    )
    .max(4096),
});
export type EvaluationReport = z.infer<typeof EvaluationReportSchema>;

/** Metrics where lower is better: degradation is an increase. */
export const LOWER_IS_BETTER = new Set(["mae", "calibrationError"]);
