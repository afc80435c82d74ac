import { z } from "zod";
import { withRules } from "./cel.ts";
import {
  conditionsList,
  DeidSchema,
  DnsLabel,
  Duration,
  EnvVar,
  kindSchema,
  LocalObjectReference,
  MAX_MESSAGE,
  MAX_NAME,
  ObservedGeneration,
  ResourceRequirements,
  Sha256,
  Timestamp,
} from "./common.ts";
import { ModalitySchema } from "./medmodel.ts";

/** FHIR Consent purposes of use (v3 ActReason) that MedMLOps distinguishes. */
export const PurposeSchema = z.enum(["TREAT", "HQUALIMP", "PATSFTY", "HRESCH", "SYSDEV"]);
export type Purpose = z.infer<typeof PurposeSchema>;

export const DatasetSchema = withRules(
  z.object({
    since: Timestamp.optional().describe("Earliest study time included (RFC 3339)."),
    until: Timestamp.optional().describe(
      "Latest study time included (RFC 3339); default: when the job starts.",
    ),
    sites: z
      .array(z.string().min(1).max(63))
      .max(64)
      .optional()
      .describe("Sites (hospital codes, not patient data) whose cases are used; default: all."),
    modalities: z
      .array(ModalitySchema)
      .max(11)
      .optional()
      .describe("DICOM modalities included; default: the model card's."),
    annotatedOnly: z
      .boolean()
      .default(true)
      .describe("Use only cases with a reference-standard annotation from the validation ledger."),
    purpose: PurposeSchema.default("SYSDEV").describe(
      "Consent purpose this use falls under (FHIR v3 ActReason); cases of patients who denied it are excluded before training (GDPR Art. 21).",
    ),
    historicalFraction: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe(
        "Share of older (pre-deployment) cases mixed with recent ones, guarding against catastrophic forgetting of earlier populations.",
      ),
    sequesteredTestFraction: z
      .number()
      .min(0.05)
      .max(0.5)
      .default(0.2)
      .describe(
        "Share of cases held out by patient pseudonym, never seen in training, for the candidate's evaluation.",
      ),
  }),
  [
    {
      rule: "!has(self.since) || !has(self.until) || self.since < self.until",
      message: "dataset.since must be before dataset.until",
      field: "until",
      check: (d) =>
        d.since === undefined || d.until === undefined || Date.parse(d.since) < Date.parse(d.until),
    },
  ],
).describe("Which de-identified, consented cases the candidate is trained on.");

export const TrainerSchema = z
  .object({
    image: z.string().min(1).max(1024).describe("Container image of the training code (pin by digest)."),
    command: z.array(z.string().max(MAX_MESSAGE)).max(32).optional().describe("Entrypoint override."),
    args: z.array(z.string().max(MAX_MESSAGE)).max(128).optional().describe("Arguments to the entrypoint."),
    env: z
      .array(EnvVar)
      .max(64)
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .optional()
      .describe("Environment of the trainer; secrets by valueFrom."),
    resources: ResourceRequirements.optional(),
    gpu: z.number().int().min(0).max(16).default(0).describe("GPUs for the training pod (nvidia.com/gpu)."),
    timeout: Duration.default("6h").describe("The run fails when training takes longer."),
  })
  .describe("The training container, run as a Kubernetes Job after the data init container.");

export const RetrainJobSpecSchema = withRules(
  z.object({
    modelRef: LocalObjectReference.describe("The MedModel to produce a candidate for."),
    baseVersion: DnsLabel.describe(
      "Version whose weights training starts from and which the candidate is compared with.",
    ),
    candidateVersion: DnsLabel.describe(
      "Name the new version gets. The candidate is added to the MedModel as a version, never made active silently.",
    ),
    dataset: withRules(DatasetSchema, [
      {
        rule: "self == oldSelf",
        message: "dataset is immutable: create a new RetrainJob for a different dataset",
      },
    ]).prefault({}),
    trainer: TrainerSchema,
    deid: DeidSchema.prefault({}).describe(
      "De-identification applied by the data init container before training.",
    ),
    evaluation: z
      .object({
        policyRef: LocalObjectReference.optional().describe(
          "ValidationPolicy whose metrics, floors and change control judge the candidate (the PCCP envelope).",
        ),
        perSite: z
          .boolean()
          .default(true)
          .describe(
            "Report and gate each site separately, so a gain at one site cannot hide a loss at another.",
          ),
        compareTo: DnsLabel.optional().describe(
          "Version the candidate is compared with; default baseVersion.",
        ),
      })
      .prefault({})
      .describe("How the candidate is evaluated on the sequestered test set."),
    promotion: z
      .object({
        mode: z
          .enum(["Manual", "Automatic"])
          .default("Manual")
          .describe(
            "Manual: a passing candidate waits in AwaitingApproval until approvals are recorded. Automatic: it is added as a version and may be rolled out only within the ValidationPolicy's change control (FDA PCCP).",
          ),
        approvals: z
          .array(
            z
              .object({
                approver: z
                  .string()
                  .min(1)
                  .max(MAX_NAME)
                  .describe("Who approved (staff identity, not a patient)."),
                role: z.string().min(1).max(MAX_NAME).describe("Their role, e.g. clinical-lead, qa-ra."),
                at: Timestamp.describe("When."),
              })
              .describe("One recorded human approval."),
          )
          .max(16)
          .optional()
          .describe(
            "Human sign-offs (EU AI Act Art. 14); the count required comes from the ValidationPolicy.",
          ),
      })
      .prefault({})
      .describe("What happens to a candidate that passes evaluation."),
  }),
  [
    {
      rule: "self.candidateVersion != self.baseVersion",
      message: "candidateVersion must differ from baseVersion",
      field: "candidateVersion",
      check: (s) => s.candidateVersion !== s.baseVersion,
    },
  ],
).describe("A controlled retraining run whose output is a candidate version, never a silent swap.");

export const RetrainPhaseSchema = z.enum([
  "Pending",
  "PreparingData",
  "Training",
  "Evaluating",
  "AwaitingApproval",
  "Succeeded",
  "Failed",
  "Rejected",
]);

export const RetrainJobStatusSchema = z
  .object({
    observedGeneration: ObservedGeneration,
    phase: RetrainPhaseSchema.optional().describe(
      "Pending, PreparingData, Training, Evaluating, AwaitingApproval, Succeeded, Failed or Rejected.",
    ),
    conditions: conditionsList("Ready, DataPrepared, Trained, Evaluated, Approved"),
    dataset: z
      .object({
        cases: z.number().int().min(0).describe("Cases in the training set."),
        manifestSha256: Sha256.describe(
          "SHA-256 of the dataset manifest, so the run can be reproduced and audited.",
        ),
        excludedByConsent: z
          .number()
          .int()
          .min(0)
          .describe("Cases left out because the patient denied the purpose."),
        sites: z.array(z.string().max(63)).max(64).optional().describe("Sites that contributed cases."),
      })
      .optional()
      .describe("The dataset actually used."),
    jobName: z.string().max(63).optional().describe("The Kubernetes Job running the trainer."),
    candidate: z
      .object({
        uri: z.string().max(2048).describe("Where the candidate model was written."),
        sha256: Sha256.describe("SHA-256 of the candidate model."),
      })
      .optional()
      .describe("The produced model file."),
    evaluation: z
      .array(
        z
          .object({
            site: z.string().max(63).describe("Site code, or * for all sites."),
            metric: z.string().max(63).describe("Metric name, e.g. sensitivity."),
            baseline: z.number().describe("Value of the compared-to version."),
            candidate: z.number().describe("Value of the candidate."),
            pass: z
              .boolean()
              .describe("Whether the candidate meets the floors and the degradation limit here."),
          })
          .describe("One site-metric comparison."),
      )
      .max(512)
      .optional()
      .describe("Baseline vs candidate on the sequestered test set, per site and metric."),
    startedAt: Timestamp.optional().describe("When the run started."),
    completedAt: Timestamp.optional().describe("When it reached a final phase."),
    message: z.string().max(MAX_MESSAGE).optional().describe("Details for the phase. No patient data."),
  })
  .describe("Observed state of the run, written by the operator.");

export const RetrainJobSchema = kindSchema("RetrainJob", RetrainJobSpecSchema, RetrainJobStatusSchema);

export type RetrainJob = z.infer<typeof RetrainJobSchema>;
export type RetrainJobSpec = z.infer<typeof RetrainJobSpecSchema>;
export type RetrainJobStatus = z.infer<typeof RetrainJobStatusSchema>;
export type RetrainPhase = z.infer<typeof RetrainPhaseSchema>;
