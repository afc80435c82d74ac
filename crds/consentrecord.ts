import { z } from "zod";
import { type Rule, withRules } from "./cel.ts";
import { conditionsList, kindSchema, MAX_NAME, ObjectName, ObservedGeneration, Timestamp } from "./common.ts";
import { PurposeSchema } from "./retrainjob.ts";

/**
 * A patient pseudonym: `pn:` + 64 lowercase hex = HMAC-SHA256(per-hospital key, patient ID). The deid room
 * produces exactly this form; nothing else is accepted so that a raw MRN or a name can never be stored.
 */
export const PSEUDONYM_PREFIX = "pn:";
export const PSEUDONYM_PATTERN = /^pn:[a-f0-9]{64}$/;
export function isPseudonym(value: string): boolean {
  return PSEUDONYM_PATTERN.test(value);
}

/**
 * The subject's rules sit on the object, not on the string: the API server then reports `Invalid value:
 * "object"` instead of echoing the rejected string, which may be a real MRN or name (no PHI in errors).
 * For the same reason the string has no OpenAPI `pattern` (whose error would print the value); maxLength
 * errors never include the value.
 */
const pseudonymRules: Rule<{ pseudonym: string }>[] = [
  {
    rule: "!self.pseudonym.matches('^[0-9]+$')",
    message: "subject.pseudonym looks like a raw medical record number; store pn:<HMAC-SHA256 hex> instead",
    field: "pseudonym",
    check: (v) => !/^[0-9]+$/.test(v.pseudonym),
  },
  {
    rule: "!self.pseudonym.contains(' ')",
    message: "subject.pseudonym looks like a name; store pn:<HMAC-SHA256 hex> instead",
    field: "pseudonym",
    check: (v) => !v.pseudonym.includes(" "),
  },
  {
    rule: "self.pseudonym.matches('^pn:[a-f0-9]{64}$')",
    message:
      "subject.pseudonym must be pn: followed by 64 lowercase hex characters (keyed HMAC-SHA256 of the patient ID)",
    field: "pseudonym",
    check: (v) => isPseudonym(v.pseudonym),
  },
];

export const PeriodSchema = withRules(
  z.object({
    start: Timestamp.optional().describe("From when (RFC 3339); default: always."),
    end: Timestamp.optional().describe("Until when (RFC 3339); default: open-ended."),
  }),
  [
    {
      rule: "!has(self.start) || !has(self.end) || self.start < self.end",
      message: "period.start must be before period.end",
      field: "end",
      check: (p) => p.start === undefined || p.end === undefined || Date.parse(p.start) < Date.parse(p.end),
    },
  ],
).describe("Time range a provision covers (applies to when the data was acquired).");

export const ProvisionSchema = z
  .object({
    decision: z.enum(["Permit", "Deny"]).describe("Permit or Deny the listed purposes."),
    purposes: withRules(z.array(PurposeSchema).min(1).max(5), [
      {
        rule: "self.all(p, self.exists_one(q, q == p))",
        message: "purposes must not repeat",
        check: (ps) => new Set(ps).size === ps.length,
      },
    ]).describe(
      "FHIR v3 ActReason codes: TREAT (care), HQUALIMP (quality monitoring), PATSFTY (patient safety), HRESCH (research), SYSDEV (model development).",
    ),
    period: PeriodSchema.optional(),
    models: z
      .array(ObjectName)
      .max(64)
      .optional()
      .describe("MedModels this provision applies to; default: all models."),
  })
  .describe("One exception: a decision for some purposes, optionally limited in time and to some models.");

export const ConsentRecordSpecSchema = z
  .object({
    subject: withRules(
      z.object({
        pseudonym: z
          .string()
          .min(1)
          .max(67)
          .describe(
            "The patient as a keyed pseudonym, pn:<64 hex> = HMAC-SHA256(hospital key, patient ID), computed with the hospital's de-identification key. Raw MRNs and names are rejected.",
          ),
      }),
      pseudonymRules,
    ).describe("Whose consent this is. Only a pseudonym is ever stored (GDPR Art. 4(5))."),
    legalBasis: z
      .object({
        article6: z
          .enum(["6.1.a", "6.1.c", "6.1.e", "6.1.f"])
          .describe(
            "GDPR Art. 6(1) basis: a consent, c legal obligation, e public task, f legitimate interests.",
          ),
        article9: z
          .enum(["9.2.a", "9.2.h", "9.2.i", "9.2.j"])
          .describe(
            "GDPR Art. 9(2) condition for health data: a explicit consent, h health care, i public health, j research.",
          ),
      })
      .describe("Lawful basis of the processing, kept apart from the patient's decision."),
    decision: z
      .enum(["Permit", "Deny"])
      .describe("The base decision for purposes no provision lists; an opt-out record says Deny."),
    provisions: z.array(ProvisionSchema).max(16).default([]).describe("Exceptions to the base decision."),
    state: z
      .enum(["Active", "Inactive"])
      .default("Active")
      .describe("Inactive records are kept for audit but not enforced."),
    recordedAt: Timestamp.describe("When the patient expressed the decision."),
    source: z
      .string()
      .max(MAX_NAME)
      .regex(/^[A-Za-z]+\/[A-Za-z0-9.-]{1,64}$/, "must be a FHIR reference such as Consent/123")
      .optional()
      .describe("FHIR reference of the source record, e.g. Consent/8f2c (never a patient identifier)."),
  })
  .describe(
    "One patient's exception to the hospital's default (opt-out by default), shaped after FHIR Consent.",
  );

export const ConsentRecordStatusSchema = z
  .object({
    observedGeneration: ObservedGeneration,
    conditions: conditionsList("Enforced"),
    enforcement: z
      .object({
        casesExcluded: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe("Cases kept out of validation or training sets."),
        casesErased: z.number().int().min(0).default(0).describe("Stored cases erased (GDPR Art. 17)."),
        datasetsTainted: z
          .array(ObjectName)
          .max(256)
          .optional()
          .describe("RetrainJobs whose datasets held this patient's cases before the record existed."),
        lastEnforcedAt: Timestamp.optional().describe("When enforcement last ran."),
      })
      .optional()
      .describe("What the operator did to honour the record."),
  })
  .describe("Observed state of enforcement, written by the operator.");

export const ConsentRecordSchema = kindSchema(
  "ConsentRecord",
  ConsentRecordSpecSchema,
  ConsentRecordStatusSchema,
);

export type ConsentRecord = z.infer<typeof ConsentRecordSchema>;
export type ConsentRecordSpec = z.infer<typeof ConsentRecordSpecSchema>;
export type ConsentRecordStatus = z.infer<typeof ConsentRecordStatusSchema>;
export type ConsentProvision = z.infer<typeof ProvisionSchema>;
