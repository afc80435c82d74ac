/**
 * The monitor's HTTP shapes (requests and responses), shared by the server and `client.ts`. zod only — no
 * fastify, no storage — so the operator and the sidecar can import the client cheaply.
 */
import { z } from "zod";
import { DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, MAX_NAME } from "../crds/common.ts";
import { ConsentRecordSpecSchema, PSEUDONYM_PATTERN } from "../crds/consentrecord.ts";
import { ValidationPolicySpecSchema } from "../crds/validationpolicy.ts";

export const MAX_RECORDS_PER_CALL = 10_000;
export const MAX_ANNOTATIONS_PER_CALL = 10_000;

export const Namespace = z.string().max(63).regex(DNS_LABEL_PATTERN, "must be a DNS-1123 label");
export const ObjectName = z
  .string()
  .max(MAX_NAME)
  .regex(DNS_SUBDOMAIN_PATTERN, "must be a Kubernetes object name");
/** What `medmlops sidecar --version` accepts (MedModel versions are DNS labels, a subset). */
export const VersionName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, '.', '_', '-'");
/** Opaque (a keyed HMAC from the sidecar); a narrow alphabet keeps free text out. */
export const CaseId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:+/=-]+$/, "must be ≤ 128 of letters, digits and . _ : + / = -");
export const Pseudonym = z.string().regex(PSEUDONYM_PATTERN, "must be pn: followed by 64 lowercase hex");
export const Timestamp = z.iso.datetime({ offset: true });
const FEATURE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
export const FeatureName = z
  .string()
  .regex(FEATURE_NAME, "feature names are ≤ 128 of letters, digits and . _ : / -");

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A record's `inputs`/`outputs`: at most `max` features, each name a FeatureName, each value a finite number.
 * The same rules as `z.record(FeatureName, z.number())` plus a key count, checked in one loop: zod's record
 * runs a schema per key and per value (~1 µs a key), which was most of a record's validation at ingest.
 * wire.test.ts holds the two forms to the same verdicts.
 */
export function featureMap(max: number) {
  return boundedMap<number>(
    max,
    (k, x) => typeof x === "number" && Number.isFinite(x) && FEATURE_NAME.test(k),
    `at most ${max} features, each a feature name → finite number`,
  );
}

/** A plain object of at most `max` own keys, every entry passing `entryOk`, checked in one loop. */
function boundedMap<V>(max: number, entryOk: (key: string, value: unknown) => boolean, message: string) {
  return z.custom<Record<string, V>>(
    (v) => {
      if (!isPlainObject(v)) return false;
      const keys = Object.keys(v);
      if (keys.length > max) return false;
      for (const k of keys) if (!entryOk(k, v[k])) return false;
      return true;
    },
    { message },
  );
}

/**
 * A record's `metadata`: at most `max` keywords, each value a string of ≤ 64 or a finite number (the same rules as
 * `z.record(z.string(), z.union([z.string().max(64), z.number()]))` plus a key count, in one loop). Which
 * keywords are allowed is checked after (METADATA_NOT_ALLOWED).
 */
export function metadataMap(max: number) {
  return boundedMap<string | number>(
    max,
    (_k, x) => (typeof x === "string" ? x.length <= 64 : typeof x === "number" && Number.isFinite(x)),
    `at most ${max} keywords, each a string of ≤ 64 or a finite number`,
  );
}

/**
 * DICOM keywords a record may carry: acquisition descriptors with no patient data (none is in PS3.15 Table
 * E.1-1). Anything else is refused (METADATA_NOT_ALLOWED), so a sidecar bug can never store a PatientName.
 */
export const ALLOWED_METADATA = [
  "Modality",
  "Manufacturer",
  "ManufacturerModelName",
  "KVP",
  "SliceThickness",
  "SpacingBetweenSlices",
  "BodyPartExamined",
  "ViewPosition",
  "PhotometricInterpretation",
  "Rows",
  "Columns",
  "BitsStored",
  "PixelRepresentation",
  "MagneticFieldStrength",
  "ConvolutionKernel",
  "XRayTubeCurrent",
  "Exposure",
  "ExposureTime",
  "SamplesPerPixel",
] as const;
const allowedMetadata = new Set<string>(ALLOWED_METADATA);

export const RecordSchema = z.strictObject({
  time: Timestamp,
  namespace: Namespace,
  model: ObjectName,
  version: VersionName,
  caseId: CaseId,
  patient: Pseudonym.optional(),
  site: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be ≤ 63 letters, digits, '.', '_', '-'")
    .optional(),
  metadata: metadataMap(32).optional(),
  inputs: featureMap(256).default({}),
  outputs: featureMap(256).default({}),
  decision: z
    .strictObject({
      label: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,127}$/, "label names only"),
      score: z.number(),
      positive: z.boolean(),
    })
    .optional(),
});
export type MonitorRecord = z.input<typeof RecordSchema>;
export type ParsedRecord = z.output<typeof RecordSchema>;

const FIELD_CODES: Record<string, string> = {
  time: "INVALID_TIME",
  namespace: "INVALID_NAMESPACE",
  model: "INVALID_MODEL",
  version: "INVALID_VERSION",
  caseId: "INVALID_CASE_ID",
  patient: "INVALID_PATIENT",
  site: "INVALID_SITE",
  metadata: "INVALID_METADATA",
  inputs: "INVALID_INPUTS",
  outputs: "INVALID_OUTPUTS",
  decision: "INVALID_DECISION",
};

/** A record, or the stable code of the first thing wrong with it. */
export function parseRecord(
  value: unknown,
): { ok: true; record: ParsedRecord } | { ok: false; code: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, code: "INVALID_RECORD" };
  const r = RecordSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === "unrecognized_keys" && issue.path.length === 0)
      return { ok: false, code: "UNKNOWN_FIELD" };
    const field = issue.path[0];
    return { ok: false, code: (typeof field === "string" && FIELD_CODES[field]) || "INVALID_RECORD" };
  }
  for (const k of Object.keys(r.data.metadata ?? {})) {
    if (!allowedMetadata.has(k)) return { ok: false, code: "METADATA_NOT_ALLOWED" };
  }
  return { ok: true, record: r.data };
}

export const RejectedSchema = z.object({ index: z.number().int(), code: z.string() });
export const RecordsResponseSchema = z.object({
  accepted: z.number().int(),
  excluded: z.number().int(),
  rejected: z.array(RejectedSchema),
});
export type RecordsResponse = z.infer<typeof RecordsResponseSchema>;

export const AnnotationSchema = z
  .strictObject({
    namespace: Namespace,
    model: ObjectName,
    caseId: CaseId,
    positive: z.boolean().optional(),
    value: z.number().optional(),
    dice: z.number().min(0).max(1).optional(),
    time: Timestamp,
    source: z.enum(["report", "reader"]),
  })
  .refine((a) => a.positive !== undefined || a.value !== undefined || a.dice !== undefined, {
    message: "an annotation needs positive, value or dice",
    path: ["positive"],
  });
export type Annotation = z.input<typeof AnnotationSchema>;

const ANNOTATION_CODES: Record<string, string> = {
  namespace: "INVALID_NAMESPACE",
  model: "INVALID_MODEL",
  caseId: "INVALID_CASE_ID",
  positive: "MISSING_TRUTH",
  value: "INVALID_VALUE",
  dice: "INVALID_DICE",
  time: "INVALID_TIME",
  source: "INVALID_SOURCE",
};

export function parseAnnotation(
  value: unknown,
): { ok: true; annotation: z.output<typeof AnnotationSchema> } | { ok: false; code: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, code: "INVALID_ANNOTATION" };
  }
  const r = AnnotationSchema.safeParse(value);
  if (r.success) return { ok: true, annotation: r.data };
  const issue = r.error.issues[0]!;
  if (issue.code === "unrecognized_keys" && issue.path.length === 0)
    return { ok: false, code: "UNKNOWN_FIELD" };
  const field = issue.path[0];
  return { ok: false, code: (typeof field === "string" && ANNOTATION_CODES[field]) || "INVALID_ANNOTATION" };
}

export const AnnotationsResponseSchema = z.object({
  accepted: z.number().int(),
  rejected: z.array(RejectedSchema),
});
export type AnnotationsResponse = z.infer<typeof AnnotationsResponseSchema>;

/** PUT /v1/references/{ns}/{model}/{version}: a profile document, or freeze one from stored records. */
export const FreezeReferenceSchema = z.union([
  z.strictObject({ fromRecords: z.strictObject({ since: Timestamp, until: Timestamp }) }),
  z.strictObject({ firstRecords: z.number().int().min(10).max(100_000) }),
]);
export type FreezeReference = z.infer<typeof FreezeReferenceSchema>;
export const ReferenceResponseSchema = z.object({
  namespace: z.string(),
  model: z.string(),
  version: z.string(),
  n: z.number().int(),
  features: z.array(z.string()),
});
export type ReferenceResponse = z.infer<typeof ReferenceResponseSchema>;

export const PutPolicySchema = z.strictObject({
  model: ObjectName,
  spec: ValidationPolicySpecSchema,
});
export type PutPolicy = z.input<typeof PutPolicySchema>;

export const EvaluateRequestSchema = z.strictObject({
  now: Timestamp.optional(),
  versions: z.array(VersionName).min(1).max(16),
});
export type EvaluateRequest = z.input<typeof EvaluateRequestSchema>;

export const MetricResultSchema = z.object({
  metric: z.string(),
  subgroup: z.string().optional(),
  value: z.number(),
  ciLow: z.number(),
  ciHigh: z.number(),
  n: z.number().int(),
  pass: z.boolean(),
});
export const DriftResultSchema = z.object({
  version: z.string(),
  feature: z.string(),
  test: z.string(),
  statistic: z.number(),
  pValue: z.number().optional(),
  drifted: z.boolean(),
});
/** Why a metric or a drift check has no verdict (ValidationPolicy condition InsufficientData). */
export const InsufficientSchema = z.object({
  version: z.string(),
  kind: z.enum(["metric", "drift"]),
  name: z.string(),
  subgroup: z.string().optional(),
  reason: z.enum([
    "TOO_FEW_SAMPLES",
    "UNDEFINED",
    "NO_REFERENCE",
    "NO_TRAFFIC",
    "FEATURE_NOT_IN_REFERENCE",
    "PAST_RETENTION",
  ]),
  n: z.number().int(),
  minSamples: z.number().int().optional(),
});
export const EvaluateResponseSchema = z.object({
  evaluatedAt: Timestamp,
  window: z.object({ start: Timestamp, end: Timestamp }),
  results: z.array(z.object({ version: z.string(), metrics: z.array(MetricResultSchema) })),
  drift: z.array(DriftResultSchema),
  insufficientData: z.boolean(),
  insufficient: z.array(InsufficientSchema),
});
export type EvaluateResponse = z.infer<typeof EvaluateResponseSchema>;

export const WorklistResponseSchema = z.object({
  cases: z.array(
    z.object({ caseId: z.string(), version: z.string(), time: z.string(), inclusionProbability: z.number() }),
  ),
});
export type WorklistResponse = z.infer<typeof WorklistResponseSchema>;

export const PutConsentSchema = ConsentRecordSpecSchema;
export type PutConsent = z.input<typeof PutConsentSchema>;
export const ConsentResponseSchema = z.object({
  pseudonym: z.string(),
  excluded: z.number().int(),
  erased: z.number().int(),
});
export type ConsentResponse = z.infer<typeof ConsentResponseSchema>;
export const EraseResponseSchema = z.object({ records: z.number().int(), annotations: z.number().int() });
export type EraseResponse = z.infer<typeof EraseResponseSchema>;

export const ErrorBodySchema = z.object({ error: z.string(), code: z.string() });
