/**
 * One monitor Record per answered request (the Record shape of POST /v1/records, monitor/wire.ts): the input
 * intensity statistics, the output scores, the decision, non-PHI DICOM metadata, the site, and a patient pseudonym
 * only when a Patient ID was present and the de-identification key is mounted. Nothing else from the request:
 * no names, IDs, dates, UIDs or free text — the case id is a keyed HMAC (DICOM) or the sidecar's own request id.
 *
 * Feature names: inputs `<input>:<mean|std|p5|p50|p95>`; outputs `score:<label>` for the first classification
 * output and `score:<output>:<label>` for any further one. Characters a feature name may not hold become "_".
 * A request with several items (a multi-frame series) is summarised per label by its highest score, and its
 * decision is the item with the highest decision score (the most suspicious frame), as series-level triage reads.
 */
import type { MonitorRecord } from "../monitor/client.ts";
import type { InputSummary } from "./input-stats.ts";
import type { ItemPrediction } from "./postprocess.ts";

export interface RecordContext {
  namespace: string;
  model: string;
  version: string;
  site?: string;
}

export interface RecordParts {
  caseId: string;
  patient?: string;
  metadata?: Record<string, string | number>;
  inputs: Map<string, InputSummary>;
  /** Per classification output (signature order): its items' predictions. */
  predictions: Map<string, ItemPrediction[]>;
  time?: Date;
}

const FEATURE_CHAR = /[^A-Za-z0-9._:/-]/g;
const LABEL_CHAR = /[^A-Za-z0-9 ._:/-]/g;

/** Names come from the signature (a bounded set), so sanitised names are cached: no regex per request. */
const featureNames = new Map<string, string>();
const MAX_CACHED_NAMES = 4096;

function featureName(name: string): string {
  let out = featureNames.get(name);
  if (out === undefined) {
    const cleaned = name.replace(FEATURE_CHAR, "_").slice(0, 128);
    out = /^[A-Za-z0-9]/.test(cleaned) ? cleaned : `f${cleaned}`.slice(0, 128);
    if (featureNames.size < MAX_CACHED_NAMES) featureNames.set(name, out);
  }
  return out;
}

export function inputFeatures(inputs: Map<string, InputSummary>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of inputs) {
    const base = featureName(name);
    out[`${base}:mean`] = s.mean;
    out[`${base}:std`] = s.std;
    if (s.p5 !== undefined) out[`${base}:p5`] = s.p5;
    if (s.p50 !== undefined) out[`${base}:p50`] = s.p50;
    if (s.p95 !== undefined) out[`${base}:p95`] = s.p95;
  }
  return out;
}

export function outputFeatures(predictions: Map<string, ItemPrediction[]>): {
  outputs: Record<string, number>;
  decision?: NonNullable<MonitorRecord["decision"]>;
} {
  const outputs: Record<string, number> = {};
  let decision: { label: string; score: number; positive: boolean } | undefined;
  let first = true;
  for (const [output, items] of predictions) {
    if (items.length === 0) continue;
    const prefix = first ? "score:" : `score:${featureName(output)}:`;
    first = false;
    for (const item of items) {
      for (const { label, score } of item.scores) {
        const key = featureName(`${prefix}${label}`);
        if (!(key in outputs) || score > outputs[key]!) outputs[key] = score;
      }
      const d = item.decision;
      if (d && Number.isFinite(d.score) && (decision === undefined || d.score > decision.score)) {
        decision = { label: d.label, score: d.score, positive: d.positive };
      }
    }
  }
  if (decision) {
    const label = decision.label.replace(LABEL_CHAR, "_").slice(0, 128);
    decision.label = /^[A-Za-z0-9]/.test(label) ? label : `l${label}`.slice(0, 128);
  }
  return decision ? { outputs, decision } : { outputs };
}

export function buildRecord(ctx: RecordContext, parts: RecordParts): MonitorRecord {
  const { outputs, decision } = outputFeatures(parts.predictions);
  const record: MonitorRecord = {
    time: (parts.time ?? new Date()).toISOString(),
    namespace: ctx.namespace,
    model: ctx.model,
    version: ctx.version,
    caseId: parts.caseId,
    inputs: inputFeatures(parts.inputs),
    outputs,
  };
  if (parts.patient) record.patient = parts.patient;
  if (ctx.site) record.site = ctx.site;
  if (parts.metadata && Object.keys(parts.metadata).length > 0) record.metadata = parts.metadata;
  if (decision) record.decision = decision;
  return record;
}
