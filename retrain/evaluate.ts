/**
 * `medmlops evaluate`, the computation: candidate and base scores on the sequestered split, per site and overall,
 * with confidence intervals from monitor/stats (Wilson for the proportions, DeLong for AUROC).
 */
import * as ort from "onnxruntime-node";
import type { EvaluationReport } from "../monitor/datasets/report.ts";
import { auroc, type BinaryCase, binaryMetrics, type Estimate } from "../monitor/stats/index.ts";
import { type CaseLine, featureVector } from "./data-format.ts";

export const EVALUATED_METRICS = ["sensitivity", "specificity", "ppv", "npv", "accuracy", "auroc"] as const;

/**
 * Runs a tabular ONNX model: first input float32 [N, F] (features in the dataset's sorted order), first output
 * [N] or [N, 1] = the positive score. Returns one score per case.
 */
export async function scoreCases(
  modelPath: string,
  cases: readonly CaseLine[],
  features: readonly string[],
): Promise<number[]> {
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ["cpu"] });
  try {
    const inputName = session.inputNames[0];
    const outputName = session.outputNames[0];
    if (!inputName || !outputName) throw new Error("the model has no input or no output");
    const out: number[] = [];
    const batch = 256;
    for (let i = 0; i < cases.length; i += batch) {
      const chunk = cases.slice(i, i + batch);
      const data = new Float32Array(chunk.length * features.length);
      for (const [j, c] of chunk.entries()) data.set(featureVector(c, features), j * features.length);
      const result = await session.run({
        [inputName]: new ort.Tensor("float32", data, [chunk.length, features.length]),
      });
      const scores = result[outputName]?.data as Float32Array | undefined;
      if (!scores || scores.length !== chunk.length) {
        throw new Error(
          `the model's output ${outputName} has ${scores?.length ?? 0} values for ${chunk.length} cases`,
        );
      }
      out.push(...Array.from(scores, Number));
    }
    return out;
  } finally {
    await session.release();
  }
}

function toRow(e: Estimate) {
  return { value: e.value, ciLow: e.ciLow, ciHigh: e.ciHigh, n: e.n };
}

function metricsOf(
  cases: BinaryCase[],
  confidence: number,
): Record<(typeof EVALUATED_METRICS)[number], Estimate> {
  return { ...binaryMetrics(cases, confidence), auroc: auroc(cases, confidence) };
}

/** The report's rows from labelled cases and both models' scores. Pure. Cases without a binary label are skipped. */
export function reportRows(
  cases: readonly CaseLine[],
  candidate: readonly number[],
  base: readonly number[],
  opts: { threshold: number; confidence: number; perSite: boolean },
): EvaluationReport["rows"] {
  const groups = new Map<string, { cand: BinaryCase[]; base: BinaryCase[] }>();
  const add = (site: string, truth: boolean, c: number, b: number) => {
    const g = groups.get(site) ?? { cand: [], base: [] };
    g.cand.push({ truth, predicted: c >= opts.threshold, score: c });
    g.base.push({ truth, predicted: b >= opts.threshold, score: b });
    groups.set(site, g);
  };
  cases.forEach((c, i) => {
    const truth = c.label?.positive;
    if (truth === undefined) return;
    add("*", truth, candidate[i] as number, base[i] as number);
    if (opts.perSite && c.site) add(c.site, truth, candidate[i] as number, base[i] as number);
  });
  const rows: EvaluationReport["rows"] = [];
  for (const site of [...groups.keys()].sort()) {
    const g = groups.get(site) as { cand: BinaryCase[]; base: BinaryCase[] };
    const mc = metricsOf(g.cand, opts.confidence);
    const mb = metricsOf(g.base, opts.confidence);
    for (const metric of EVALUATED_METRICS)
      rows.push({ site, metric, candidate: toRow(mc[metric]), base: toRow(mb[metric]) });
  }
  return rows;
}
