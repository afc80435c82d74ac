import { z } from "zod";
import { withRules } from "./cel.ts";

/** The API group, version and apiVersion string of every MedMLOps kind. */
export const GROUP = "medmlops.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}` as const;

// Bounds keep every CEL rule within the API server's cost budget: it rejects CEL over unbounded lists/strings.
export const MAX_NAME = 253;
export const MAX_TEXT = 4096;
export const MAX_MESSAGE = 32768;

export const DNS_LABEL_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const SHA256_PATTERN = /^[a-f0-9]{64}$/;
/** Go-style durations (`90s`, `10m`, `1h30m`), plus `d` for days because validation windows are long. */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$/;

/** A DNS-1123 label: lowercase letters, digits and '-', at most 63 characters (model version names). */
export const DnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(DNS_LABEL_PATTERN, "must be a DNS-1123 label: lowercase letters, digits and '-', 1-63 characters");

/** A Kubernetes object name (DNS-1123 subdomain). */
export const ObjectName = z
  .string()
  .min(1)
  .max(MAX_NAME)
  .regex(DNS_SUBDOMAIN_PATTERN, "must be a Kubernetes object name (DNS-1123 subdomain)");

/** A lowercase hex SHA-256 digest; the operator refuses to load bytes whose digest differs. */
export const Sha256 = withRules(
  z.string().min(64).max(64).regex(SHA256_PATTERN, "must be 64 lowercase hex characters (a SHA-256 digest)"),
  [
    {
      rule: "self.matches('^[a-f0-9]{64}$')",
      message: "must be 64 lowercase hex characters (a SHA-256 digest)",
    },
  ],
);

export const Duration = z
  .string()
  .min(2)
  .max(32)
  .regex(DURATION_PATTERN, "must be a duration such as 30s, 10m, 1h30m or 7d");

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration string accepted by `Duration`; throws on anything else. */
export function durationToMs(duration: string): number {
  if (!DURATION_PATTERN.test(duration))
    throw new Error("invalid duration: expected e.g. 30s, 10m, 1h30m, 7d");
  let total = 0;
  for (const m of duration.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/g)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? 0);
  }
  return total;
}

/** RFC 3339 timestamp, as metav1.Time serialises (`2026-01-31T12:00:00Z`). */
export const Timestamp = z.iso.datetime({ offset: true });
/** Calendar date `YYYY-MM-DD`. */
export const DateOnly = z.iso.date();

/** A Kubernetes resource quantity (`500m`, `2Gi`, `1`): string or integer, like core/v1. */
export const Quantity = z
  .union([z.string().max(64), z.number()])
  .meta({ "x-kubernetes-int-or-string": true })
  .describe("A Kubernetes resource quantity such as 500m, 2Gi or 1.");

export const ResourceRequirements = z
  .object({
    requests: z
      .record(z.string().max(MAX_NAME), Quantity)
      .optional()
      .describe("Minimum resources the scheduler reserves, e.g. {cpu: 500m, memory: 1Gi}."),
    limits: z
      .record(z.string().max(MAX_NAME), Quantity)
      .optional()
      .describe("Maximum resources the container may use; exceeding memory kills the pod."),
  })
  .describe("CPU, memory and extended resources, as in a Pod's container resources.");

export const LocalObjectReference = z
  .object({ name: ObjectName.describe("Name of the object in the same namespace.") })
  .describe("A reference to an object in the same namespace.");

export const SecretKeySelector = z
  .object({
    name: ObjectName.describe("Name of the Secret in the same namespace."),
    key: z.string().min(1).max(MAX_NAME).describe("Key within the Secret."),
  })
  .describe("One key of a Secret in the same namespace.");

export const EnvVar = z
  .object({
    name: z
      .string()
      .min(1)
      .max(MAX_NAME)
      .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, "must be a valid environment variable name")
      .describe("Environment variable name."),
    value: z.string().max(MAX_MESSAGE).optional().describe("Literal value. Never put secrets or PHI here."),
    valueFrom: z
      .object({ secretKeyRef: SecretKeySelector.describe("Take the value from this Secret key.") })
      .optional()
      .describe("Take the value from a Secret instead of writing it inline."),
  })
  .describe("An environment variable for the container.");

export const Toleration = z
  .object({
    key: z
      .string()
      .max(MAX_NAME)
      .optional()
      .describe("Taint key the toleration applies to; empty matches all keys."),
    operator: z.enum(["Exists", "Equal"]).optional().describe("Exists or Equal (default Equal)."),
    value: z.string().max(MAX_NAME).optional().describe("Taint value to match when operator is Equal."),
    effect: z
      .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
      .optional()
      .describe("Taint effect to match; empty matches all effects."),
    tolerationSeconds: z
      .number()
      .int()
      .optional()
      .describe("For NoExecute: how long the pod stays bound after the taint appears."),
  })
  .describe("Lets pods land on nodes with a matching taint (e.g. dedicated GPU nodes).");

/**
 * An object whose fields the API server keeps as given (e.g. core/v1 Affinity, passed to the Pod verbatim).
 * The generator emits it as `type: object` with `x-kubernetes-preserve-unknown-fields: true`.
 */
export function opaqueObject(description: string) {
  return z
    .record(z.string(), z.unknown())
    .meta({ "x-kubernetes-preserve-unknown-fields": true })
    .describe(description);
}

/** A condition exactly shaped like metav1.Condition, so kstatus, Argo CD and Flux understand it. */
export const ConditionSchema = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
        "must be a CamelCase condition type such as Ready",
      )
      .describe("Condition type in CamelCase, e.g. Ready, Progressing, Degraded."),
    status: z.enum(["True", "False", "Unknown"]).describe("Status of the condition: True, False or Unknown."),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("The .metadata.generation the condition was set from; older than the object's means stale."),
    lastTransitionTime: Timestamp.describe("When the condition last changed status."),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, "must be a CamelCase reason")
      .describe("Machine-readable CamelCase reason for the last transition."),
    message: z
      .string()
      .max(MAX_MESSAGE)
      .describe("Human-readable details. Never contains patient data (no PHI in status)."),
  })
  .describe("A metav1.Condition: one aspect of the object's current state.");
export type Condition = z.infer<typeof ConditionSchema>;

/** `status.conditions`: a list map keyed by `type`, at most one entry per type. */
export function conditionsList(types: string) {
  return z
    .array(ConditionSchema)
    .max(32)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
    .optional()
    .describe(`Current state as metav1.Conditions, one per type (${types}).`);
}

export const ObservedGeneration = z
  .number()
  .int()
  .min(0)
  .optional()
  .describe(
    "The .metadata.generation this status was computed from; behind generation means not yet reconciled.",
  );

/** The subset of ObjectMeta the code reads; other fields pass through untouched. */
export const ObjectMetaSchema = z.looseObject({
  name: z.string().max(MAX_NAME).optional(),
  namespace: z.string().max(63).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

/** Builds the full object schema of a kind from its spec and status. */
export function kindSchema<K extends string, Sp extends z.ZodType, St extends z.ZodType>(
  kind: K,
  spec: Sp,
  status: St,
) {
  return z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: ObjectMetaSchema,
    spec,
    status: status.optional(),
  });
}

/** DICOM de-identification settings shared by MedModel (serving) and RetrainJob (the data init container). */
export const DeidOptionSchema = z.enum([
  "CleanPixelData",
  "CleanRecognizableVisualFeatures",
  "CleanGraphics",
  "CleanStructuredContent",
  "CleanDescriptors",
  "RetainLongitudinalTemporalInformationFullDates",
  "RetainLongitudinalTemporalInformationModifiedDates",
  "RetainPatientCharacteristics",
  "RetainDeviceIdentity",
  "RetainInstitutionIdentity",
  "RetainUIDs",
  "RetainSafePrivate",
]);

export const DeidSchema = withRules(
  z.object({
    mode: z
      .enum(["DataToModel", "ModelToData"])
      .default("DataToModel")
      .describe(
        "DataToModel: images are de-identified (DICOM PS3.15) before they reach the model. ModelToData: the model runs inside the hospital where the data lives, and images leave neither the hospital nor the serving pod; de-identification applies only to what is stored for monitoring (GDPR Art. 25, data protection by design).",
      ),
    options: z
      .array(DeidOptionSchema)
      .max(12)
      .default(["CleanDescriptors", "RetainLongitudinalTemporalInformationModifiedDates"])
      .describe(
        "PS3.15 Table E.1-1 profile options on top of the Basic Application Level Confidentiality Profile. Retain* options keep more data: justify each in the DPIA.",
      ),
    keySecretRef: SecretKeySelector.default({ name: "medmlops-deid-key", key: "hmac-key" }).describe(
      "Secret key holding the per-hospital HMAC key that turns patient IDs into pseudonyms and derives new UIDs and date shifts. Rotating it breaks linkage with earlier pseudonyms.",
    ),
  }),
  [
    {
      rule: "!has(self.options) || self.options.all(o, self.options.exists_one(p, p == o))",
      message: "options must not repeat",
      field: "options",
      check: (v) => new Set(v.options).size === v.options.length,
    },
  ],
);
export type Deid = z.infer<typeof DeidSchema>;
