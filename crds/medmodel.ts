import { z } from "zod";
import { withRules } from "./cel.ts";
import {
  conditionsList,
  DateOnly,
  DeidSchema,
  DnsLabel,
  Duration,
  kindSchema,
  MAX_MESSAGE,
  MAX_NAME,
  MAX_TEXT,
  ObjectName,
  ObservedGeneration,
  opaqueObject,
  ResourceRequirements,
  SecretKeySelector,
  Sha256,
  Timestamp,
  Toleration,
} from "./common.ts";

export const MAX_VERSIONS = 16;

export const TaskSchema = z.enum(["classification", "detection", "segmentation", "regression", "risk"]);
export const ModalitySchema = z.enum(["CR", "DX", "CT", "MR", "MG", "US", "PT", "NM", "XA", "RF", "OT"]);
/** Open Inference Protocol v2 tensor datatypes. */
export const DatatypeSchema = z.enum([
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
]);

export const ModelCardSchema = withRules(
  z.object({
    intendedUse: z
      .string()
      .min(10)
      .max(MAX_TEXT)
      .describe(
        "Intended purpose in plain words: who uses the output, for which patients, in which clinical step (EU AI Act Art. 13(3)(b); MDR intended purpose). Admission rejects a model without it.",
      ),
    task: TaskSchema.describe(
      "What the model computes: classification, detection, segmentation, regression or risk.",
    ),
    modalities: z
      .array(ModalitySchema)
      .min(1)
      .max(11)
      .describe(
        "DICOM modalities (0008,0060) the model is validated for; other images are refused, not guessed at.",
      ),
    contraindications: z
      .array(z.string().min(1).max(1024))
      .max(32)
      .optional()
      .describe(
        "Populations and situations where the output must not be used (e.g. paediatric patients, portable films).",
      ),
    limitations: z
      .array(z.string().min(1).max(1024))
      .max(32)
      .optional()
      .describe(
        "Known limitations and foreseeable misuse clinicians must be told about (EU AI Act Art. 13(3)(b)(iii)).",
      ),
    validUntil: DateOnly.describe(
      "Expected lifetime: the date (YYYY-MM-DD) after which the model must be re-validated before further clinical use (AI Act Annex IV; MDR post-market surveillance). Admission rejects a model without it.",
    ),
    owner: z
      .string()
      .min(1)
      .max(MAX_NAME)
      .describe("Accountable team or role (not a patient, never PHI), e.g. radiology-ai@hospital.example."),
  }),
  [
    {
      rule: "!has(self.intendedUse) || self.intendedUse.matches('[^\\\\s]')",
      message: "modelCard.intendedUse must say what the model is for; blank text is not an intended use",
      field: "intendedUse",
      check: (v) => /\S/.test(v.intendedUse),
    },
  ],
).describe(
  "Instructions for use in machine-readable form (EU AI Act Art. 13 and Annex IV): what the model is for, for whom, and until when.",
);

export const DicomPreprocessSchema = withRules(
  z.object({
    rescale: z
      .object({
        fromHeader: z
          .boolean()
          .default(true)
          .describe("Use Rescale Slope/Intercept (0028,1053)/(0028,1052) from each image."),
        slope: z.number().optional().describe("Fixed slope, used when fromHeader is false."),
        intercept: z.number().optional().describe("Fixed intercept, used when fromHeader is false."),
      })
      .prefault({})
      .describe("Modality LUT: stored pixel values → physical units (e.g. Hounsfield units for CT)."),
    window: withRules(
      z.object({
        fromHeader: z
          .boolean()
          .default(false)
          .describe("Use Window Center/Width (0028,1050)/(0028,1051) from each image."),
        center: z.number().optional().describe("Window center in rescaled units."),
        width: z.number().gt(0).optional().describe("Window width in rescaled units; greater than 0."),
      }),
      [
        {
          rule: "self.fromHeader || (has(self.center) && has(self.width))",
          message: "window needs center and width unless fromHeader is true",
          check: (w) => w.fromHeader || (w.center !== undefined && w.width !== undefined),
        },
      ],
    )
      .optional()
      .describe("VOI windowing applied before normalisation; omit to use the full rescaled range."),
    invertMonochrome1: z
      .boolean()
      .default(true)
      .describe("Invert MONOCHROME1 images so that higher values are always brighter, as in training."),
    resize: z
      .object({
        height: z.number().int().min(1).max(8192).describe("Target height in pixels."),
        width: z.number().int().min(1).max(8192).describe("Target width in pixels."),
      })
      .optional()
      .describe("Bilinear resize to the model's input size."),
    normalize: z
      .object({
        mean: z
          .array(z.number())
          .min(1)
          .max(4)
          .describe("Per-channel mean subtracted after scaling to [0, 1]."),
        std: z.array(z.number().gt(0)).min(1).max(4).describe("Per-channel standard deviation divided by."),
      })
      .optional()
      .describe("(x - mean) / std per channel, after scaling to [0, 1]."),
    channels: z
      .union([z.literal(1), z.literal(3)])
      .default(1)
      .describe("1 for grayscale; 3 repeats the grayscale image (ImageNet-pretrained backbones)."),
    layout: z.enum(["NCHW", "NHWC"]).default("NCHW").describe("Tensor layout the model expects."),
  }),
  [
    {
      rule: "!has(self.rescale) || self.rescale.fromHeader || (has(self.rescale.slope) && has(self.rescale.intercept))",
      message: "rescale needs slope and intercept unless fromHeader is true",
      field: "rescale",
      check: (d) =>
        d.rescale.fromHeader || (d.rescale.slope !== undefined && d.rescale.intercept !== undefined),
    },
    {
      rule: "!has(self.normalize) || (size(self.normalize.mean) == self.channels && size(self.normalize.std) == self.channels)",
      message: "normalize.mean and normalize.std need one value per channel",
      field: "normalize",
      check: (d) =>
        d.normalize === undefined ||
        (d.normalize.mean.length === d.channels && d.normalize.std.length === d.channels),
    },
  ],
).describe("How a DICOM image becomes this input tensor. Must match the preprocessing used in training.");

const Shape = z
  .array(z.number().int().min(-1))
  .min(1)
  .max(8)
  .describe("Tensor shape; -1 marks a variable dimension (usually the batch).");

export const TensorInputSchema = z
  .object({
    name: z.string().min(1).max(MAX_NAME).describe("Input name as in the ONNX graph."),
    datatype: DatatypeSchema.describe("Open Inference Protocol v2 datatype, e.g. FP32."),
    shape: Shape,
    dicom: DicomPreprocessSchema.optional(),
  })
  .describe("One model input.");

export const TensorOutputSchema = withRules(
  z.object({
    name: z.string().min(1).max(MAX_NAME).describe("Output name as in the ONNX graph."),
    datatype: DatatypeSchema.describe("Open Inference Protocol v2 datatype, e.g. FP32."),
    shape: Shape,
    labels: z
      .array(z.string().min(1).max(128))
      .max(1024)
      .optional()
      .describe("Class names in output order, e.g. [normal, pneumothorax, effusion]."),
    activation: z
      .enum(["none", "softmax", "sigmoid"])
      .default("none")
      .describe("Applied to the raw output before it is returned and monitored."),
    operatingPoint: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        "Decision threshold on the activated score chosen in validation; sensitivity/specificity are monitored at this point.",
      ),
  }),
  [
    {
      rule: "!has(self.operatingPoint) || (self.operatingPoint >= 0.0 && self.operatingPoint <= 1.0)",
      message: "operatingPoint must be within [0, 1]",
      field: "operatingPoint",
      check: (o) => o.operatingPoint === undefined || (o.operatingPoint >= 0 && o.operatingPoint <= 1),
    },
  ],
).describe("One model output.");

export const SignatureSchema = z
  .object({
    inputs: z
      .array(TensorInputSchema)
      .min(1)
      .max(8)
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("Model inputs, keyed by name."),
    outputs: z
      .array(TensorOutputSchema)
      .min(1)
      .max(8)
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("Model outputs, keyed by name."),
  })
  .describe("The tensors the model consumes and produces, and how DICOM images are turned into them.");

export const SOURCE_URI_PATTERN =
  /^(pvc:\/\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/.+|https:\/\/.+|configmap:\/\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/.+)$/;

export const ArtifactSchema = z
  .object({
    uri: z
      .string()
      .min(1)
      .max(2048)
      .regex(SOURCE_URI_PATTERN, "must be pvc://<claim>/<path>, https://… or configmap://<name>/<key>")
      .describe(
        "Where the bytes are: pvc://<claim>/<path>, https://<host>/<path> or configmap://<name>/<key>.",
      ),
    sha256: Sha256.describe("SHA-256 of the bytes; loading fails closed when the digest differs."),
  })
  .describe("A file fetched by URI and verified by digest.");

export const ModelVersionSchema = z
  .object({
    name: DnsLabel.describe("Version name, a DNS label (e.g. v2); unique within the model."),
    source: ArtifactSchema.describe("The ONNX model file of this version and its required SHA-256."),
    referenceProfile: ArtifactSchema.optional().describe(
      "Training-distribution profile (inputs and outputs) that drift tests compare live traffic against.",
    ),
    signature: SignatureSchema.optional().describe("Overrides spec.signature for this version only."),
    description: z.string().max(MAX_TEXT).optional().describe("What changed in this version (change log)."),
  })
  .describe("One immutable, digest-pinned model version.");

export const CanaryStepSchema = z
  .object({
    weight: z
      .number()
      .int()
      .min(1)
      .max(100)
      .describe("Percent of requests the new version receives at this step."),
    pause: Duration.optional().describe(
      "How long to observe this step before the next; omit on the last step.",
    ),
  })
  .describe("One canary step.");

/** A Gateway API hostname: a DNS name, optionally with one leading wildcard label ("*.radiology.example"). */
const GatewayHostname = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    "must be a lowercase DNS name, optionally starting with '*.'",
  );

export const GatewayParentRefSchema = z
  .object({
    name: ObjectName.describe(
      "Name of the Gateway the route attaches to (gateway.networking.k8s.io Gateway).",
    ),
    namespace: DnsLabel.optional().describe(
      "Namespace of the Gateway; default: the MedModel's namespace. A Gateway in another namespace must allow routes from this one (listeners[].allowedRoutes).",
    ),
    sectionName: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe(
        "Listener of the Gateway to attach to (its listeners[].name); default: every listener that accepts the route.",
      ),
  })
  .describe("A Gateway the HTTPRoute attaches to (HTTPRoute spec.parentRefs[]).");

export const GatewayApiRoutingSchema = z
  .object({
    parentRefs: z
      .array(GatewayParentRefSchema)
      .min(1)
      .max(8)
      .describe("Gateways the HTTPRoute attaches to; clients reach the model through these Gateways."),
    hostnames: z
      .array(GatewayHostname)
      .max(16)
      .optional()
      .describe(
        "Host names the route answers for (HTTPRoute spec.hostnames); default: any host the listener accepts.",
      ),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(80)
      .describe(
        "Gateway listener port the route attaches to (set on every parentRef as parentRefs[].port); use the port of the listener you name in sectionName, e.g. 443 for HTTPS.",
      ),
  })
  .describe(
    "Exact-weight traffic through a Gateway API HTTPRoute `<model>`: during a canary the route sends exactly the step's weight to the new version's Service and the rest to the serving one; otherwise 100 % to the serving version (failover and suspend move it too). Needs the Gateway API CRDs and a Gateway implementation in the cluster; without them the MedModel reports Degraded (GatewayAPIUnavailable) and traffic splits by replica ratio.",
  );

export const TrafficRoutingSchema = z
  .object({
    gatewayAPI: GatewayApiRoutingSchema.optional(),
  })
  .describe(
    "How canary traffic is split. Without it the stable Service `<model>` spreads requests over the pods of both versions (weights by replica ratio, approximate for few replicas).",
  );

export const RolloutSchema = z
  .object({
    strategy: z
      .enum(["Canary", "BlueGreen", "Immediate"])
      .default("Canary")
      .describe(
        "Canary shifts traffic step by step; BlueGreen switches all at once after the new version is Ready; Immediate replaces in place.",
      ),
    steps: withRules(z.array(CanaryStepSchema).min(1).max(10), [
      {
        rule: "self[size(self) - 1].weight == 100",
        message: "canary steps must end at weight 100",
        check: (s) => s[s.length - 1]?.weight === 100,
      },
      {
        rule: "self.map(s, s.weight).isSorted() && self.all(a, self.exists_one(b, b.weight == a.weight))",
        message: "canary weights must strictly rise from step to step",
        check: (s) => s.every((step, i) => i === 0 || step.weight > (s[i - 1]?.weight ?? 0)),
      },
    ])
      .default([{ weight: 10, pause: "30m" }, { weight: 50, pause: "2h" }, { weight: 100 }])
      .describe("Canary steps: weights strictly rise and end at 100 (used by strategy Canary)."),
    requireValidation: z
      .boolean()
      .default(true)
      .describe(
        "Promotion waits for a passing ValidationPolicy verdict on the new version (human oversight, Art. 14).",
      ),
    trafficRouting: TrafficRoutingSchema.optional(),
  })
  .describe("How a change of activeVersion reaches clinicians.");

export const FailoverSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("Route traffic to the fallback version when the active one fails."),
    fallbackVersion: DnsLabel.optional().describe(
      "Version to fail over to; default: status.lastKnownGoodVersion (the last version that was Ready and validated).",
    ),
    unavailableAfter: Duration.default("60s").describe(
      "How long the active version may be not Ready before traffic fails over.",
    ),
    onValidationBreach: z
      .boolean()
      .default(true)
      .describe("Also fail over when the ValidationPolicy reports a performance breach."),
  })
  .describe("Keeps an AI answer available when a version breaks: fall back to a known-good one.");

export const DeviceSchema = z
  .object({
    type: z.enum(["cpu", "gpu"]).default("cpu").describe("cpu or gpu."),
    gpuCount: z.number().int().min(1).max(16).default(1).describe("GPUs per replica when type is gpu."),
    gpuResourceName: z
      .string()
      .min(1)
      .max(MAX_NAME)
      .default("nvidia.com/gpu")
      .describe("Extended resource name of the GPU device plugin."),
  })
  .describe("Where inference runs.");

/** The Secret keys the sidecar reads (cert-manager's kubernetes.io/tls layout; `token` for clientAuth token). */
export const SERVING_TLS_KEYS = { cert: "tls.crt", key: "tls.key", clientCa: "ca.crt" } as const;

export const ServingTlsSchema = withRules(
  z.object({
    secretName: ObjectName.optional().describe(
      "Secret in the MedModel's namespace with the serving certificate: tls.crt (PEM chain) and tls.key (its key), and ca.crt (the CA client certificates must chain to) for clientAuth mtls — the layout of a cert-manager Certificate's Secret (docs/security.md). Rotation needs no restart: the sidecar re-reads the mounted files every 2 s. The admission policy allows only the Secrets the hospital lists (admission.allowedTlsSecrets). Omit to have the operator issue the certificate: a cert-manager Certificate <model>-serving-tls for the model's Services from the operator's --serving-tls-issuer (the chart's default); the model serves once it is Ready.",
    ),
    clientAuth: z
      .enum(["none", "mtls", "token"])
      .default("none")
      .describe(
        "Who may call the model's routes (inference and metadata; health and /metrics stay open for probes): none = anyone who reaches the port; mtls = a client certificate that chains to ca.crt of secretName; token = Authorization: Bearer with the token of tokenSecretRef.",
      ),
    tokenSecretRef: SecretKeySelector.optional().describe(
      "With clientAuth token (and only then): the Secret key holding the bearer token (first line, at least 16 characters; re-read on change). A Secret of its own, not the certificate's; the admission policy allows only admission.allowedTlsSecrets.",
    ),
  }),
  [
    {
      rule: "self.clientAuth != 'token' || has(self.tokenSecretRef)",
      message: "serving.tls.clientAuth token needs tokenSecretRef (the Secret key holding the bearer token)",
      field: "tokenSecretRef",
      reason: "FieldValueRequired",
      check: (t) => t.clientAuth !== "token" || t.tokenSecretRef !== undefined,
    },
    {
      rule: "self.clientAuth == 'token' || !has(self.tokenSecretRef)",
      message: "serving.tls.tokenSecretRef is only used with clientAuth token",
      field: "tokenSecretRef",
      reason: "FieldValueForbidden",
      check: (t) => t.clientAuth === "token" || t.tokenSecretRef === undefined,
    },
  ],
).describe(
  "Serve HTTPS with the certificate of a Secret (or one the operator has issued), and optionally require a client certificate (mtls) or a bearer token. The probes use HTTPS and the Services name the port https. Omitted: HTTPS with an issued certificate and clientAuth none when the operator runs with --serving-tls-issuer (the chart's default), plain HTTP otherwise; serving.plainHttp asks for plain HTTP explicitly.",
);

export const ServingSchema = z
  .object({
    replicas: z.number().int().min(0).max(100).default(1).describe("Pods per active version."),
    resources: ResourceRequirements.optional(),
    device: DeviceSchema.prefault({}),
    executionProviders: z
      .array(z.enum(["cuda", "cpu"]))
      .min(1)
      .max(2)
      .optional()
      .describe(
        "ONNX Runtime execution providers in order of preference; default [cuda, cpu] on gpu, [cpu] on cpu.",
      ),
    nodeSelector: z
      .record(z.string().max(MAX_NAME), z.string().max(63))
      .optional()
      .describe("Node labels the serving pods must match."),
    tolerations: z.array(Toleration).max(32).optional().describe("Tolerations of the serving pods."),
    affinity: opaqueObject("A core/v1 Affinity passed to the serving pods unchanged.").optional(),
    batching: z
      .object({
        maxBatchSize: z
          .number()
          .int()
          .min(1)
          .max(256)
          .default(8)
          .describe("Largest batch sent to the model."),
        maxQueueDelayMs: z
          .number()
          .int()
          .min(0)
          .max(1000)
          .default(5)
          .describe("Longest a request waits for others to fill a batch."),
      })
      .prefault({})
      .describe("Dynamic batching in the inference sidecar."),
    image: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe("Overrides the sidecar image of the Helm release (e.g. a CUDA build for GPU nodes)."),
    caseIdKeySecretRef: SecretKeySelector.default({ name: "medmlops-case-id-key", key: "hmac-key" }).describe(
      "Secret key holding the HMAC key (≥ 16 bytes) for pseudonymous case ids, which join answers with later ground truth in the monitor. One purpose per key: it must not be deid.keySecretRef. Mounted optionally in every mode: when the Secret does not exist the model serves without case ids (case_id null).",
    ),
    tls: ServingTlsSchema.optional(),
    plainHttp: z
      .boolean()
      .optional()
      .describe(
        "true: serve plain HTTP even when the operator issues serving certificates by default (--serving-tls-issuer, the chart's modelServing.tls.mode cert-manager) — for a service mesh that terminates mTLS beside each pod. Not with serving.tls.",
      ),
  })
  .describe("How many pods serve the model, on what hardware, with which batching.");

export const MedModelSpecSchema = withRules(
  z.object({
    modelCard: ModelCardSchema,
    signature: SignatureSchema,
    versions: withRules(
      z
        .array(ModelVersionSchema)
        .min(1)
        .max(MAX_VERSIONS)
        .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] }),
      [
        {
          rule: "self.all(v, self.exists_one(w, w.name == v.name))",
          message: "version names must be unique",
          reason: "FieldValueDuplicate",
          check: (vs) => new Set(vs.map((v) => v.name)).size === vs.length,
        },
      ],
    ).describe("All versions of the model that may serve, keyed by name; each pinned by SHA-256."),
    activeVersion: DnsLabel.describe(
      "The version clinicians should get. Changing it starts a rollout; status.activeVersion says what serves now.",
    ),
    rollout: RolloutSchema.prefault({}),
    failover: FailoverSchema.prefault({}),
    suspend: z
      .boolean()
      .default(false)
      .describe(
        'The stop button (EU AI Act Art. 14(4)(e)): serving answers 503 "AI unavailable — refer to clinician" until cleared. Say why in suspendReason.',
      ),
    suspendReason: z
      .string()
      .max(1024)
      .optional()
      .describe(
        "Why the model is suspended; recorded in the Suspended condition and events. No patient data.",
      ),
    serving: ServingSchema.prefault({}),
    deid: DeidSchema.prefault({}).describe("De-identification of images on the way to the model."),
    site: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/)
      .optional()
      .describe(
        "The hospital site this deployment serves (e.g. north-campus): carried by every monitor record, so validation and retraining can report and gate per site. A site code, never a patient or person name.",
      ),
  }),
  [
    {
      rule: "self.versions.exists(v, v.name == self.activeVersion)",
      message: "activeVersion must name one of spec.versions",
      field: "activeVersion",
      check: (s) => s.versions.some((v) => v.name === s.activeVersion),
    },
    {
      rule: "!has(self.serving) || !has(self.serving.caseIdKeySecretRef) || !has(self.deid) || !has(self.deid.keySecretRef) || self.serving.caseIdKeySecretRef.name != self.deid.keySecretRef.name || self.serving.caseIdKeySecretRef.key != self.deid.keySecretRef.key",
      message:
        "serving.caseIdKeySecretRef must not be the de-identification key (deid.keySecretRef): one purpose per key",
      field: "serving.caseIdKeySecretRef",
      check: (s) =>
        s.serving.caseIdKeySecretRef.name !== s.deid.keySecretRef.name ||
        s.serving.caseIdKeySecretRef.key !== s.deid.keySecretRef.key,
    },
    {
      rule: "!has(self.serving) || !has(self.serving.tls) || ((has(self.serving.tls.secretName) ? [self.serving.tls.secretName] : []) + (has(self.serving.tls.tokenSecretRef) ? [self.serving.tls.tokenSecretRef.name] : [])).all(n, (!has(self.deid) || !has(self.deid.keySecretRef) || n != self.deid.keySecretRef.name) && (!has(self.serving.caseIdKeySecretRef) || n != self.serving.caseIdKeySecretRef.name))",
      message:
        "serving.tls must not name the de-identification or case-id key Secret (deid.keySecretRef, serving.caseIdKeySecretRef): one purpose per Secret",
      field: "serving.tls",
      check: (s) => {
        const tls = s.serving.tls;
        if (!tls) return true;
        const keys = [s.deid.keySecretRef.name, s.serving.caseIdKeySecretRef.name];
        return [
          ...(tls.secretName !== undefined ? [tls.secretName] : []),
          ...(tls.tokenSecretRef ? [tls.tokenSecretRef.name] : []),
        ].every((n) => !keys.includes(n));
      },
    },
    {
      rule: "!has(self.serving) || !has(self.serving.plainHttp) || !self.serving.plainHttp || !has(self.serving.tls)",
      message: "serving.plainHttp and serving.tls exclude each other: plain HTTP, or HTTPS",
      field: "serving.plainHttp",
      reason: "FieldValueForbidden",
      check: (s) => s.serving.plainHttp !== true || s.serving.tls === undefined,
    },
    {
      rule: "!has(self.failover) || !has(self.failover.fallbackVersion) || self.versions.exists(v, v.name == self.failover.fallbackVersion)",
      message: "failover.fallbackVersion must name one of spec.versions",
      field: "failover.fallbackVersion",
      check: (s) =>
        s.failover.fallbackVersion === undefined ||
        s.versions.some((v) => v.name === s.failover.fallbackVersion),
    },
  ],
).describe("Desired state of a clinical model: its versions, how it is served, rolled out and failed over.");

export const VersionPhaseSchema = z.enum(["Pending", "Loading", "Ready", "Failed", "Retired"]);

export const MedModelStatusSchema = z
  .object({
    observedGeneration: ObservedGeneration,
    conditions: conditionsList("Ready, Progressing, Degraded, FailedOver, Suspended"),
    activeVersion: DnsLabel.optional().describe(
      "The version serving clinicians right now (after failover, if any).",
    ),
    lastKnownGoodVersion: DnsLabel.optional().describe(
      "The most recent version that was Ready and passed validation; the default failover target.",
    ),
    canary: z
      .object({
        version: DnsLabel.describe("The version receiving canary traffic."),
        weight: z.number().int().min(0).max(100).describe("Percent of requests it receives now."),
        step: z.number().int().min(0).max(10).describe("Index of the current step in spec.rollout.steps."),
        since: Timestamp.describe("When the current step began."),
      })
      .optional()
      .describe("The rollout in progress, if any."),
    versions: z
      .array(
        z
          .object({
            name: DnsLabel.describe("Version name."),
            phase: VersionPhaseSchema.describe("Pending, Loading, Ready, Failed or Retired."),
            readyReplicas: z
              .number()
              .int()
              .min(0)
              .optional()
              .describe("Pods of this version that are Ready."),
            digest: Sha256.optional().describe("SHA-256 of the model bytes actually loaded."),
            validated: z
              .boolean()
              .optional()
              .describe("True when the ValidationPolicy verdict for this version passed."),
            message: z
              .string()
              .max(MAX_MESSAGE)
              .optional()
              .describe("Details for the phase. No patient data."),
          })
          .describe("Observed state of one version."),
      )
      .max(MAX_VERSIONS)
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .optional()
      .describe("Observed state of each version, keyed by name."),
    failover: z
      .object({
        count: z.number().int().min(0).default(0).describe("How many failovers happened."),
        lastTransition: z
          .object({
            from: DnsLabel.describe("Version traffic moved away from."),
            to: DnsLabel.describe("Version traffic moved to."),
            reason: z
              .string()
              .max(1024)
              .describe("Why (CamelCase reason, e.g. ActiveNotReady, ValidationBreach)."),
            at: Timestamp.describe("When."),
          })
          .optional()
          .describe("The most recent failover."),
      })
      .optional()
      .describe("Failover history."),
    endpoint: z
      .string()
      .max(2048)
      .optional()
      .describe(
        "In-cluster URL of the Open Inference Protocol v2 endpoint, e.g. http://cxr-triage.radiology.svc/v2/models/cxr-triage.",
      ),
    audit: z
      .object({
        pending: z
          .array(
            z
              .object({
                key: z.string().max(512).describe("Idempotency key of the event (deterministic)."),
                action: z
                  .enum(["RolloutStep", "Promotion", "Failover", "FailBack", "Suspend", "Resume"])
                  .describe("The governance event."),
                actor: z.string().max(253).describe("Who: a person named in an annotation, or the operator."),
                reason: z.string().max(4096).describe("Why. No patient data."),
                at: Timestamp.describe("When the operator decided it."),
                details: z
                  .record(z.string(), z.string().max(256))
                  .optional()
                  .describe("Versions, counts, weights. Never patient data."),
              })
              .describe("One audit entry not yet written to the monitor's audit log."),
          )
          .max(50)
          .optional()
          .describe(
            "Entries the monitor did not accept yet (unreachable); retried every reconcile. The action itself already happened.",
          ),
        dropped: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe("Entries dropped because more than 50 were pending (the Audited condition says so)."),
      })
      .optional()
      .describe(
        "Audit entries of this model's rollouts, failovers and suspensions still to be written (only with --monitor-url; docs/audit.md).",
      ),
  })
  .describe("Observed state of the model, written by the operator.");

export const MedModelSchema = kindSchema("MedModel", MedModelSpecSchema, MedModelStatusSchema);

export type MedModel = z.infer<typeof MedModelSchema>;
export type MedModelSpec = z.infer<typeof MedModelSpecSchema>;
export type MedModelStatus = z.infer<typeof MedModelStatusSchema>;
export type MedModelVersion = z.infer<typeof ModelVersionSchema>;
export type ModelSignature = z.infer<typeof SignatureSchema>;
export type ServingTls = z.infer<typeof ServingTlsSchema>;
export type VersionPhase = z.infer<typeof VersionPhaseSchema>;
