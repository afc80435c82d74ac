/**
 * The MedMLOps API (medmlops.io/v1alpha1): zod schemas are the single source of truth; TypeScript types are
 * inferred from them and the CRD YAML is generated from them (`npm run gen`). Other rooms import only this file.
 */
import type { z } from "zod";
import { ConsentRecordSchema } from "./consentrecord.ts";
import { MedModelSchema } from "./medmodel.ts";
import { RetrainJobSchema } from "./retrainjob.ts";
import { ValidationPolicySchema } from "./validationpolicy.ts";

export {
  API_VERSION,
  type Condition,
  ConditionSchema,
  type Deid,
  DeidOptionSchema,
  DeidSchema,
  durationToMs,
  GROUP,
  type ObjectMeta,
  ObjectMetaSchema,
  VERSION,
} from "./common.ts";
export {
  DatatypeSchema,
  type MedModel,
  MedModelSchema,
  type MedModelSpec,
  MedModelSpecSchema,
  type MedModelStatus,
  MedModelStatusSchema,
  type MedModelVersion,
  type ModelSignature,
  type ServingTls,
  SERVING_TLS_KEYS,
  type VersionPhase,
  VersionPhaseSchema,
} from "./medmodel.ts";
export {
  type MetricName,
  type PolicyAction,
  type ValidationPolicy,
  ValidationPolicySchema,
  type ValidationPolicySpec,
  ValidationPolicySpecSchema,
  type ValidationPolicyStatus,
  ValidationPolicyStatusSchema,
} from "./validationpolicy.ts";
export {
  type Purpose,
  PurposeSchema,
  type RetrainJob,
  RetrainJobSchema,
  type RetrainJobSpec,
  RetrainJobSpecSchema,
  type RetrainJobStatus,
  RetrainJobStatusSchema,
  type RetrainPhase,
} from "./retrainjob.ts";
export {
  type ConsentProvision,
  type ConsentRecord,
  ConsentRecordSchema,
  type ConsentRecordSpec,
  ConsentRecordSpecSchema,
  type ConsentRecordStatus,
  ConsentRecordStatusSchema,
  isPseudonym,
  PSEUDONYM_PATTERN,
  PSEUDONYM_PREFIX,
} from "./consentrecord.ts";
export { formatIssues, parseResource, ResourceValidationError } from "./errors.ts";

export type KindName = "MedModel" | "ValidationPolicy" | "RetrainJob" | "ConsentRecord";

export interface KindInfo {
  kind: KindName;
  plural: string;
  singular: string;
  shortNames: string[];
  listKind: string;
}

/** Names of each kind as the API server knows them (the CRD `names` block). */
export const kinds = [
  {
    kind: "MedModel",
    plural: "medmodels",
    singular: "medmodel",
    shortNames: ["mm"],
    listKind: "MedModelList",
  },
  {
    kind: "ValidationPolicy",
    plural: "validationpolicies",
    singular: "validationpolicy",
    shortNames: ["vp"],
    listKind: "ValidationPolicyList",
  },
  {
    kind: "RetrainJob",
    plural: "retrainjobs",
    singular: "retrainjob",
    shortNames: ["rj"],
    listKind: "RetrainJobList",
  },
  {
    kind: "ConsentRecord",
    plural: "consentrecords",
    singular: "consentrecord",
    shortNames: ["consent"],
    listKind: "ConsentRecordList",
  },
] as const satisfies readonly KindInfo[];

/** The full-object schema of each kind, for code that handles any of them. */
export const schemasByKind = {
  MedModel: MedModelSchema,
  ValidationPolicy: ValidationPolicySchema,
  RetrainJob: RetrainJobSchema,
  ConsentRecord: ConsentRecordSchema,
} as const satisfies Record<KindName, z.ZodType>;
