import { z } from "zod";
import { ConsentRecordSpecSchema, ConsentRecordStatusSchema } from "../consentrecord.ts";
import { GROUP, VERSION } from "../common.ts";
import { type KindInfo, type KindName, kinds } from "../index.ts";
import { MedModelSpecSchema, MedModelStatusSchema } from "../medmodel.ts";
import { RetrainJobSpecSchema, RetrainJobStatusSchema } from "../retrainjob.ts";
import { ValidationPolicySpecSchema, ValidationPolicyStatusSchema } from "../validationpolicy.ts";
import { type JsonSchema, toStructural } from "./structural.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

const condition = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;
const age: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since the object was created.",
};

interface KindSource {
  summary: string;
  spec: z.ZodType;
  status: z.ZodType;
  columns: PrinterColumn[];
}

/** Per kind: the schemas and what `kubectl get` shows. */
export const kindSources: Record<KindName, KindSource> = {
  MedModel: {
    summary:
      "One clinical model with its versions: how it is served, rolled out, failed over and stopped (EU AI Act Art. 13/14).",
    spec: MedModelSpecSchema,
    status: MedModelStatusSchema,
    columns: [
      {
        name: "Active",
        type: "string",
        jsonPath: ".status.activeVersion",
        description: "Version serving clinicians now.",
      },
      { name: "Ready", type: "string", jsonPath: condition("Ready"), description: "Ready condition status." },
      {
        name: "Canary",
        type: "string",
        jsonPath: ".status.canary.version",
        description: "Version in canary rollout.",
      },
      {
        name: "Weight",
        type: "integer",
        jsonPath: ".status.canary.weight",
        description: "Percent of traffic on the canary.",
        priority: 1,
      },
      {
        name: "LastGood",
        type: "string",
        jsonPath: ".status.lastKnownGoodVersion",
        description: "Last version that was Ready and validated.",
      },
      {
        name: "Suspended",
        type: "boolean",
        jsonPath: ".spec.suspend",
        description: "Stop button set.",
        priority: 1,
      },
      age,
    ],
  },
  ValidationPolicy: {
    summary:
      "How a model is continuously validated, what counts as drift and what happens on breach; doubles as the pre-specified change envelope (FDA PCCP, AI Act Annex IV 2(f)).",
    spec: ValidationPolicySpecSchema,
    status: ValidationPolicyStatusSchema,
    columns: [
      {
        name: "Model",
        type: "string",
        jsonPath: ".spec.modelRef.name",
        description: "The validated MedModel.",
      },
      { name: "Ready", type: "string", jsonPath: condition("Ready"), description: "Ready condition status." },
      {
        name: "Breached",
        type: "string",
        jsonPath: condition("Breached"),
        description: "A metric is below its floor.",
      },
      { name: "Drift", type: "string", jsonPath: condition("DriftDetected"), description: "Drift detected." },
      {
        name: "LastEvaluation",
        type: "date",
        jsonPath: ".status.lastEvaluation",
        description: "Last evaluation.",
      },
      age,
    ],
  },
  RetrainJob: {
    summary: "A controlled retraining run whose output is a candidate version, never a silent swap.",
    spec: RetrainJobSpecSchema,
    status: RetrainJobStatusSchema,
    columns: [
      {
        name: "Model",
        type: "string",
        jsonPath: ".spec.modelRef.name",
        description: "The MedModel retrained.",
      },
      {
        name: "Base",
        type: "string",
        jsonPath: ".spec.baseVersion",
        description: "Version training starts from.",
      },
      {
        name: "Candidate",
        type: "string",
        jsonPath: ".spec.candidateVersion",
        description: "Version produced.",
      },
      { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Where the run is." },
      {
        name: "Cases",
        type: "integer",
        jsonPath: ".status.dataset.cases",
        description: "Training cases.",
        priority: 1,
      },
      age,
    ],
  },
  ConsentRecord: {
    summary:
      "One patient's exception to the hospital's default (opt-out by default), shaped after FHIR Consent; the subject is only ever a keyed pseudonym.",
    spec: ConsentRecordSpecSchema,
    status: ConsentRecordStatusSchema,
    columns: [
      { name: "Decision", type: "string", jsonPath: ".spec.decision", description: "Base decision." },
      { name: "State", type: "string", jsonPath: ".spec.state", description: "Active or Inactive." },
      {
        name: "Recorded",
        type: "date",
        jsonPath: ".spec.recordedAt",
        description: "When the decision was expressed.",
      },
      {
        name: "Excluded",
        type: "integer",
        jsonPath: ".status.enforcement.casesExcluded",
        description: "Cases kept out.",
        priority: 1,
      },
      age,
    ],
  },
};

/**
 * `kubectl explain` prints descriptions but not defaults, so scalar and list defaults are appended to the
 * description ("Default: 60s."). Object defaults (`{}`) only say "fill in my fields' defaults" and are skipped.
 */
export function describeDefaults(node: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...node };
  const def = node["default"];
  if (
    def !== undefined &&
    (typeof def !== "object" || Array.isArray(def)) &&
    typeof out["description"] === "string"
  ) {
    const text = Array.isArray(def) ? (def.length === 0 ? "[]" : JSON.stringify(def)) : String(def);
    out["description"] = `${String(out["description"]).replace(/\.?$/, ".")} Default: ${text}.`;
  }
  if (node["properties"]) {
    out["properties"] = Object.fromEntries(
      Object.entries(node["properties"] as Record<string, JsonSchema>).map(([k, v]) => [
        k,
        describeDefaults(v),
      ]),
    );
  }
  if (node["items"]) out["items"] = describeDefaults(node["items"] as JsonSchema);
  if (typeof node["additionalProperties"] === "object") {
    out["additionalProperties"] = describeDefaults(node["additionalProperties"] as JsonSchema);
  }
  return out;
}

/** zod → JSON Schema (OpenAPI 3.0 dialect, input side so defaulted fields are optional) → structural. */
export function structuralSchema(schema: z.ZodType): JsonSchema {
  const raw = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "throw" });
  return describeDefaults(toStructural(raw as JsonSchema));
}

/** The openAPIV3Schema of one kind. */
export function openApiSchema(kind: KindName): JsonSchema {
  const src = kindSources[kind];
  return {
    description: src.summary,
    type: "object",
    required: ["spec"],
    properties: {
      apiVersion: {
        description: "Versioned schema of this object: medmlops.io/v1alpha1.",
        type: "string",
      },
      kind: { description: `The kind: ${kind}.`, type: "string" },
      metadata: { type: "object" },
      spec: structuralSchema(src.spec),
      status: structuralSchema(src.status),
    },
  };
}

export function crdFor(info: KindInfo): JsonSchema {
  const src = kindSources[info.kind];
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${info.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "medmlops", "app.kubernetes.io/part-of": "medmlops" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: info.kind,
        listKind: info.listKind,
        plural: info.plural,
        singular: info.singular,
        shortNames: [...info.shortNames],
        categories: ["medmlops"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: src.columns,
          schema: { openAPIV3Schema: openApiSchema(info.kind) },
        },
      ],
    },
  };
}

export function allCrds(): { info: KindInfo; crd: JsonSchema }[] {
  return kinds.map((info) => ({ info, crd: crdFor(info) }));
}
