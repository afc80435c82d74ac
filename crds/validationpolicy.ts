import { z } from "zod";
import { withRules } from "./cel.ts";
import {
  conditionsList,
  DnsLabel,
  Duration,
  kindSchema,
  LocalObjectReference,
  MAX_MESSAGE,
  MAX_NAME,
  MAX_TEXT,
  ObservedGeneration,
  Timestamp,
} from "./common.ts";
import { DatasetSchema, TrainerSchema } from "./retrainjob.ts";

export const MetricNameSchema = z.enum([
  "sensitivity",
  "specificity",
  "ppv",
  "npv",
  "auroc",
  "accuracy",
  "dice",
  "mae",
  "calibrationError",
]);
export type MetricName = z.infer<typeof MetricNameSchema>;
/** Metrics that are proportions, so bounds outside [0, 1] are a typo, not a policy. `mae` is unbounded. */
export const UNIT_INTERVAL_METRICS: readonly MetricName[] = MetricNameSchema.options.filter(
  (m) => m !== "mae",
);

export const SubgroupSchema = z.enum(["site", "manufacturer", "scannerModel"]);
export const ActionSchema = z.enum(["Alert", "Failover", "Retrain", "Suspend"]);
export type PolicyAction = z.infer<typeof ActionSchema>;

const inUnit = (x: number | undefined) => x === undefined || (x >= 0 && x <= 1);

export const MetricSchema = withRules(
  z.object({
    name: MetricNameSchema.describe(
      "sensitivity, specificity, ppv, npv, auroc, accuracy, dice, mae or calibrationError (expected calibration error).",
    ),
    min: z.number().optional().describe("Floor: the lower confidence bound must stay at or above it."),
    max: z
      .number()
      .optional()
      .describe("Ceiling (for error metrics): the upper confidence bound must stay at or below it."),
    confidence: z
      .number()
      .min(0.5)
      .max(0.999)
      .default(0.95)
      .describe(
        "Confidence level of the interval the verdict uses: Wilson for proportions (Kish effective n when sampling is weighted), DeLong for auroc, bootstrap for calibrationError, Student t for mae and dice (docs/statistics.md).",
      ),
    minSamples: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(50)
      .describe("Fewer annotated cases than this in the window → InsufficientData, no verdict."),
    bySubgroup: z
      .array(SubgroupSchema)
      .max(3)
      .optional()
      .describe(
        "Also evaluate per site, manufacturer or scanner model; every subgroup must pass (fairness, AI Act Art. 10).",
      ),
  }),
  [
    {
      rule: "has(self.min) || has(self.max)",
      message: "a metric needs a floor (min) or a ceiling (max)",
      check: (m) => m.min !== undefined || m.max !== undefined,
    },
    {
      rule: "self.name == 'mae' || !has(self.min) || (self.min >= 0.0 && self.min <= 1.0)",
      message: "min of a proportion metric must be within [0, 1]",
      field: "min",
      check: (m) => m.name === "mae" || inUnit(m.min),
    },
    {
      rule: "self.name == 'mae' || !has(self.max) || (self.max >= 0.0 && self.max <= 1.0)",
      message: "max of a proportion metric must be within [0, 1]",
      field: "max",
      check: (m) => m.name === "mae" || inUnit(m.max),
    },
    {
      rule: "self.name != 'mae' || ((!has(self.min) || self.min >= 0.0) && (!has(self.max) || self.max >= 0.0))",
      message: "min and max of mae must not be negative",
      check: (m) => m.name !== "mae" || ((m.min ?? 0) >= 0 && (m.max ?? 0) >= 0),
    },
    {
      rule: "!has(self.min) || !has(self.max) || self.min <= self.max",
      message: "min must not exceed max",
      field: "max",
      check: (m) => m.min === undefined || m.max === undefined || m.min <= m.max,
    },
  ],
).describe("One performance requirement checked continuously against annotated cases.");

export const DriftCheckSchema = withRules(
  z.object({
    source: z
      .enum(["input", "output", "metadata"])
      .describe("input: image statistics; output: predicted scores; metadata: DICOM header fields (no PHI)."),
    feature: z
      .string()
      .min(1)
      .max(MAX_NAME)
      .describe("What is compared, e.g. meanIntensity, score:pneumothorax, Manufacturer, KVP."),
    test: z
      .enum(["psi", "ks", "js", "wasserstein", "chi2"])
      .describe(
        "Population stability index, Kolmogorov-Smirnov, Jensen-Shannon, Wasserstein or chi-squared.",
      ),
    threshold: z.number().min(0).optional().describe("Drift when the statistic exceeds this (e.g. psi 0.2)."),
    pValue: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe("Drift when the test's p-value falls below this (ks, chi2)."),
  }),
  [
    {
      rule: "has(self.threshold) != has(self.pValue)",
      message: "a drift check needs exactly one of threshold or pValue",
      check: (d) => (d.threshold === undefined) !== (d.pValue === undefined),
    },
  ],
).describe("One comparison of live traffic against the version's reference profile.");

export const ValidationPolicySpecSchema = z
  .object({
    modelRef: LocalObjectReference.describe("The MedModel this policy validates."),
    sampling: z
      .object({
        rate: withRules(z.number().min(0).max(1), [
          {
            rule: "self >= 0.0 && self <= 1.0",
            message: "sampling.rate must be within [0, 1]",
            check: (r) => r >= 0 && r <= 1,
          },
        ])
          .default(0.05)
          .describe("Fraction (0-1) of cases sent for reference-standard annotation."),
        strategy: z
          .enum(["Random", "StratifiedByPrediction"])
          .default("Random")
          .describe(
            "Random, or StratifiedByPrediction: oversample rare predictions; metrics are reweighted by inverse sampling probability so they stay unbiased.",
          ),
        minPerWindow: z
          .number()
          .int()
          .min(0)
          .max(100_000)
          .default(30)
          .describe("Sample at least this many cases per window even when the rate gives fewer."),
      })
      .prefault({})
      .describe("Which cases are annotated to measure real-world performance (post-market monitoring)."),
    metrics: z
      .array(MetricSchema)
      .min(1)
      .max(16)
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("Performance requirements, keyed by metric name."),
    drift: withRules(
      z.object({
        window: z
          .object({
            duration: Duration.optional().describe("Compare the last duration of traffic, e.g. 7d."),
            cases: z.number().int().min(10).max(10_000_000).optional().describe("Compare the last N cases."),
          })
          .prefault({})
          .describe("Live window compared with the reference; default 7d."),
        checks: z.array(DriftCheckSchema).max(32).default([]).describe("Drift tests to run each evaluation."),
      }),
      [
        {
          rule: "!has(self.window) || !(has(self.window.duration) && has(self.window.cases))",
          message: "drift.window takes duration or cases, not both",
          field: "window",
          check: (d) => !(d.window.duration !== undefined && d.window.cases !== undefined),
        },
      ],
    )
      .prefault({})
      .describe("What counts as distribution shift."),
    schedule: z
      .object({
        interval: Duration.default("1h").describe("Time between evaluations."),
        recoveryEvaluations: z
          .number()
          .int()
          .min(1)
          .max(24)
          .default(2)
          .describe(
            "An episode ends only after this many evaluations in a row without a finding for its version (hysteresis: a metric hovering at its floor does not open episode after episode).",
          ),
      })
      .prefault({})
      .describe("When the policy is evaluated."),
    actions: withRules(
      z.object({
        onDrift: z
          .array(ActionSchema)
          .max(4)
          .default(["Alert"])
          .describe("Actions when drift is detected: any of Alert, Failover, Retrain, Suspend."),
        onBreach: z
          .array(ActionSchema)
          .max(4)
          .default(["Alert", "Failover"])
          .describe("Actions when a metric breaches its floor: any of Alert, Failover, Retrain, Suspend."),
        retrainTemplate: z
          .object({
            dataset: DatasetSchema.prefault({}),
            trainer: TrainerSchema,
          })
          .optional()
          .describe("RetrainJob created by the Retrain action (the candidate still goes through promotion)."),
      }),
      [
        {
          rule: "has(self.retrainTemplate) || !((has(self.onDrift) && 'Retrain' in self.onDrift) || (has(self.onBreach) && 'Retrain' in self.onBreach))",
          message: "the Retrain action needs actions.retrainTemplate",
          field: "retrainTemplate",
          check: (a) =>
            !(a.onDrift.includes("Retrain") || a.onBreach.includes("Retrain")) ||
            a.retrainTemplate !== undefined,
        },
      ],
    )
      .prefault({})
      .describe("What happens on drift or breach."),
    changeControl: z
      .object({
        allowedModifications: z
          .array(z.enum(["Retraining", "Recalibration", "OperatingPointChange"]))
          .max(3)
          .default(["Retraining"])
          .describe(
            "Modifications pre-specified in the change control plan (FDA PCCP; AI Act Annex IV 2(f)); anything else needs a new conformity assessment.",
          ),
        performanceFloors: z
          .array(
            z
              .object({
                metric: MetricNameSchema.describe("Metric name."),
                min: z
                  .number()
                  .min(0)
                  .max(1)
                  .describe("Floor a modified version must meet on the sequestered set."),
              })
              .describe("One floor."),
          )
          .max(16)
          .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["metric"] })
          .optional()
          .describe("Floors every modified version must meet; default: the metrics' min values."),
        maxSiteDegradation: z
          .number()
          .min(0)
          .max(1)
          .default(0.02)
          .describe(
            "Largest drop of any metric at any site versus the current version (catastrophic-forgetting guard).",
          ),
        approvalsRequired: z
          .number()
          .int()
          .min(0)
          .max(16)
          .default(1)
          .describe("Human approvals a candidate needs before it may serve (AI Act Art. 14)."),
      })
      .prefault({})
      .describe("The pre-specified envelope within which the model may change."),
  })
  .describe("How a model is continuously validated, what counts as drift, and what happens on breach.");

const MetricResultSchema = z
  .object({
    metric: MetricNameSchema.describe("Metric name."),
    subgroup: z
      .string()
      .max(MAX_NAME)
      .optional()
      .describe("Subgroup, e.g. site=a; absent for the whole population."),
    value: z.number().describe("Point estimate."),
    ciLow: z.number().describe("Lower confidence bound."),
    ciHigh: z.number().describe("Upper confidence bound."),
    n: z.number().int().min(0).describe("Annotated cases in the window."),
    pass: z.boolean().describe("Whether the requirement holds."),
  })
  .describe("One metric evaluation.");

export const EpisodeSchema = z
  .object({
    key: DnsLabel.describe("Deterministic episode key (policy, kind, version, start): names its RetrainJob."),
    type: z
      .enum(["Breach", "Drift"])
      .describe("Breach: a metric outside its bound; Drift: a drift check fired."),
    version: DnsLabel.describe("Model version the episode concerns."),
    startedAt: Timestamp.describe("Evaluation that opened the episode."),
    endedAt: Timestamp.optional().describe("Evaluation that closed it (absent while open)."),
    clearEvaluations: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "While open: evaluations in a row without a finding so far; the episode ends at schedule.recoveryEvaluations.",
      ),
    reason: z
      .string()
      .max(MAX_MESSAGE)
      .describe("What fired: metric, subgroup, bound or feature, test. No patient data."),
    actions: z
      .array(ActionSchema)
      .max(4)
      .optional()
      .describe(
        "Actions taken in this episode (each at most once); the MedModel controller reads Failover and Suspend.",
      ),
    skipped: z
      .array(
        z
          .object({
            type: ActionSchema.describe("The action not taken."),
            reason: z.string().max(MAX_TEXT).describe("Why it was not taken."),
          })
          .describe("An action not taken, and why."),
      )
      .max(4)
      .optional()
      .describe("Configured actions not taken (e.g. Retrain outside changeControl.allowedModifications)."),
    retrainJob: DnsLabel.optional().describe("The RetrainJob the Retrain action created."),
    resumed: z
      .object({
        by: z.string().max(MAX_NAME).describe("Who resumed the model (medmlops.io/resumed-by)."),
        reason: z.string().max(MAX_TEXT).describe("Why (medmlops.io/resume-reason)."),
        at: Timestamp.describe("When the controller saw the resume annotation."),
      })
      .optional()
      .describe("A person resumed the model after this episode's Suspend action."),
  })
  .describe("One breach or drift episode.");
export type Episode = z.infer<typeof EpisodeSchema>;

export const ValidationPolicyStatusSchema = z
  .object({
    observedGeneration: ObservedGeneration,
    conditions: conditionsList("Ready, Breached, DriftDetected, InsufficientData"),
    lastEvaluation: Timestamp.optional().describe("When the policy was last evaluated."),
    results: z
      .array(
        z
          .object({
            version: DnsLabel.describe("Model version evaluated."),
            metrics: z.array(MetricResultSchema).max(256).optional().describe("Per metric and subgroup."),
          })
          .describe("Results for one version."),
      )
      .max(16)
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["version"] })
      .optional()
      .describe("Latest results per model version."),
    drift: z
      .array(
        z
          .object({
            version: DnsLabel.optional().describe("Model version whose traffic was compared."),
            feature: z.string().max(MAX_NAME).describe("Feature compared."),
            test: z.string().max(32).describe("Test used."),
            statistic: z.number().describe("Test statistic."),
            pValue: z.number().optional().describe("p-value, for tests that have one."),
            drifted: z.boolean().describe("Whether the check fired."),
          })
          .describe("One drift result."),
      )
      .max(32)
      .optional()
      .describe("Latest drift results."),
    episodes: z
      .array(EpisodeSchema)
      .max(32)
      .optional()
      .describe(
        "Breach and drift episodes, open ones and the latest closed ones: each action is taken once per episode.",
      ),
    lastAction: z
      .object({
        type: ActionSchema.describe("Action taken."),
        at: Timestamp.describe("When."),
        reason: z
          .string()
          .max(MAX_MESSAGE)
          .describe("Why, e.g. sensitivity below floor at site b. No patient data."),
      })
      .optional()
      .describe("The most recent action the policy triggered."),
  })
  .describe("Observed state of the policy, written by the operator and monitor.");

export const ValidationPolicySchema = kindSchema(
  "ValidationPolicy",
  ValidationPolicySpecSchema,
  ValidationPolicyStatusSchema,
);

export type ValidationPolicy = z.infer<typeof ValidationPolicySchema>;
export type ValidationPolicySpec = z.infer<typeof ValidationPolicySpecSchema>;
export type ValidationPolicyStatus = z.infer<typeof ValidationPolicyStatusSchema>;
