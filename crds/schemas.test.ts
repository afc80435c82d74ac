import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readManifests } from "./examples.ts";
import {
  API_VERSION,
  ConditionSchema,
  ConsentRecordSchema,
  durationToMs,
  formatIssues,
  isPseudonym,
  kinds,
  MedModelSchema,
  MedModelSpecSchema,
  parseResource,
  ResourceValidationError,
  RetrainJobSchema,
  schemasByKind,
  ValidationPolicySchema,
} from "./index.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary paths of parsed manifests
type Loose = any;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const examples = readManifests(join(root, "examples"));
const ours = examples.filter((e) => e.doc["apiVersion"] === API_VERSION);
const example = (kind: string) => structuredClone(ours.find((e) => e.doc["kind"] === kind)!.doc) as Loose;

/** Parses and returns the issue lines, so a test can say which field was named. */
function problems(schema: { safeParse: (v: unknown) => Loose }, value: unknown): string[] {
  const r = schema.safeParse(value);
  return r.success ? [] : formatIssues(r.error);
}

describe("examples", () => {
  it("contain one of each kind", () => {
    expect(new Set(ours.map((e) => e.doc["kind"]))).toEqual(new Set(kinds.map((k) => k.kind)));
  });

  it.each(ours.map((e) => [e.file, e.doc] as const))("%s is valid", (_file, doc) => {
    const schema = schemasByKind[doc["kind"] as keyof typeof schemasByKind];
    expect(problems(schema, doc)).toEqual([]);
  });
});

describe("MedModel", () => {
  const minimalSpec = {
    modelCard: {
      intendedUse: "Triage of adult chest radiographs",
      task: "classification",
      modalities: ["DX"],
      validUntil: "2027-01-01",
      owner: "radiology-ai",
    },
    signature: {
      inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, 224, 224] }],
      outputs: [{ name: "scores", datatype: "FP32", shape: [-1, 2] }],
    },
    versions: [{ name: "v1", source: { uri: "pvc://models/m/v1/model.onnx", sha256: "a".repeat(64) } }],
    activeVersion: "v1",
  };

  it("fills every default, so the operator reads a complete spec", () => {
    const spec = MedModelSpecSchema.parse(minimalSpec);
    expect(spec.failover).toEqual({ enabled: true, unavailableAfter: "60s", onValidationBreach: true });
    expect(spec.rollout.strategy).toBe("Canary");
    expect(spec.rollout.requireValidation).toBe(true);
    expect(spec.rollout.steps.at(-1)?.weight).toBe(100);
    expect(spec.suspend).toBe(false);
    expect(spec.serving.replicas).toBe(1);
    expect(spec.serving.device).toEqual({ type: "cpu", gpuCount: 1, gpuResourceName: "nvidia.com/gpu" });
    expect(spec.serving.batching).toEqual({ maxBatchSize: 8, maxQueueDelayMs: 5 });
    expect(spec.deid.mode).toBe("DataToModel");
    expect(spec.deid.keySecretRef).toEqual({ name: "medmlops-deid-key", key: "hmac-key" });
    expect(spec.signature.outputs[0]?.activation).toBe("none");
  });

  it("applies nested defaults inside a partly given object", () => {
    const spec = MedModelSpecSchema.parse({ ...minimalSpec, failover: { fallbackVersion: "v1" } });
    expect(spec.failover).toEqual({
      enabled: true,
      fallbackVersion: "v1",
      unavailableAfter: "60s",
      onValidationBreach: true,
    });
  });

  const cases: [string, (m: Loose) => void, string, RegExp][] = [
    [
      "activeVersion not among versions",
      (m) => (m.spec.activeVersion = "v9"),
      "spec.activeVersion",
      /one of spec.versions/,
    ],
    [
      "fallbackVersion not among versions",
      (m) => (m.spec.failover.fallbackVersion = "v0"),
      "spec.failover.fallbackVersion",
      /one of spec.versions/,
    ],
    ["duplicate version names", (m) => (m.spec.versions[1].name = "v1"), "spec.versions", /unique/],
    [
      "version name not a DNS label",
      (m) => (m.spec.versions[0].name = "V_1"),
      "spec.versions[0].name",
      /DNS-1123/,
    ],
    [
      "sha256 not hex",
      (m) => (m.spec.versions[1].source.sha256 = "z".repeat(64)),
      "spec.versions[1].source.sha256",
      /64 lowercase hex/,
    ],
    [
      "sha256 short",
      (m) => (m.spec.versions[0].source.sha256 = "abc"),
      "spec.versions[0].source.sha256",
      /64/,
    ],
    [
      "missing sha256",
      (m) => delete m.spec.versions[0].source.sha256,
      "spec.versions[0].source.sha256",
      /expected string/,
    ],
    [
      "source scheme unknown",
      (m) => (m.spec.versions[0].source.uri = "s3://b/k"),
      "spec.versions[0].source.uri",
      /pvc:\/\//,
    ],
    [
      "weights not rising",
      (m) => (m.spec.rollout.steps[1].weight = 10),
      "spec.rollout.steps",
      /strictly rise/,
    ],
    [
      "weights not ending at 100",
      (m) => m.spec.rollout.steps.pop(),
      "spec.rollout.steps",
      /end at weight 100/,
    ],
    [
      "no intended use",
      (m) => delete m.spec.modelCard.intendedUse,
      "spec.modelCard.intendedUse",
      /expected string/,
    ],
    [
      "blank intended use",
      (m) => (m.spec.modelCard.intendedUse = " ".repeat(12)),
      "spec.modelCard.intendedUse",
      /must say what/,
    ],
    [
      "no lifetime",
      (m) => delete m.spec.modelCard.validUntil,
      "spec.modelCard.validUntil",
      /expected string/,
    ],
    [
      "lifetime not a date",
      (m) => (m.spec.modelCard.validUntil = "next year"),
      "spec.modelCard.validUntil",
      /date/,
    ],
    [
      "operating point above 1",
      (m) => (m.spec.signature.outputs[0].operatingPoint = 1.5),
      "spec.signature.outputs[0].operatingPoint",
      /1/,
    ],
    [
      "window without width",
      (m) => (m.spec.signature.inputs[0].dicom.window = { center: 40 }),
      "spec.signature.inputs[0].dicom.window",
      /center and width/,
    ],
    [
      "normalize per channel",
      (m) => (m.spec.signature.inputs[0].dicom.normalize.mean = [0.5, 0.5]),
      "spec.signature.inputs[0].dicom.normalize",
      /one value per channel/,
    ],
    [
      "bad duration",
      (m) => (m.spec.failover.unavailableAfter = "a minute"),
      "spec.failover.unavailableAfter",
      /duration/,
    ],
    ["negative replicas", (m) => (m.spec.serving.replicas = -1), "spec.serving.replicas", />=0/],
    ["unknown deid mode", (m) => (m.spec.deid.mode = "None"), "spec.deid.mode", /DataToModel/],
    ["wrong apiVersion", (m) => (m.apiVersion = "medmlops.io/v1"), "apiVersion", /medmlops.io\/v1alpha1/],
  ];
  it.each(cases)("rejects %s, naming the field", (_name, mutate, field, message) => {
    const m = example("MedModel");
    mutate(m);
    const lines = problems(MedModelSchema, m);
    expect(lines.length).toBeGreaterThan(0);
    expect(
      lines.some((l) => l.startsWith(`${field}: `) && message.test(l)),
      lines.join("\n"),
    ).toBe(true);
  });

  it("never echoes the offending value in messages (no PHI in errors)", () => {
    const m = example("MedModel");
    m.spec.modelCard.owner = "";
    m.spec.versions[0].name = "Jane Doe 1234567";
    const lines = problems(MedModelSchema, m);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain("Jane");
  });

  it("parseResource throws an error naming every bad field", () => {
    const m = example("MedModel");
    m.spec.activeVersion = "v9";
    expect(() => parseResource(MedModelSchema, m, "MedModel radiology/cxr-triage")).toThrowError(
      ResourceValidationError,
    );
    expect(() => parseResource(MedModelSchema, m, "x")).toThrowError(
      /spec.activeVersion: activeVersion must name/,
    );
  });
});

describe("ValidationPolicy", () => {
  const cases: [string, (p: Loose) => void, string, RegExp][] = [
    ["sampling rate above 1", (p) => (p.spec.sampling.rate = 1.2), "spec.sampling.rate", /<=1/],
    ["sampling rate negative", (p) => (p.spec.sampling.rate = -0.1), "spec.sampling.rate", />=0/],
    [
      "floor above 1",
      (p) => (p.spec.metrics[0].min = 85),
      "spec.metrics[0].min",
      /min of a proportion metric must be within \[0, 1\]/,
    ],
    [
      "ceiling below 0",
      (p) => (p.spec.metrics[3].max = -0.1),
      "spec.metrics[3].max",
      /max of a proportion metric must be within \[0, 1\]/,
    ],
    [
      "metric without bound",
      (p) => delete p.spec.metrics[2].min,
      "spec.metrics[2]",
      /floor \(min\) or a ceiling/,
    ],
    ["min above max", (p) => (p.spec.metrics[0].max = 0.5), "spec.metrics[0].max", /min must not exceed max/],
    [
      "negative mae",
      (p) => p.spec.metrics.push({ name: "mae", max: -1 }),
      "spec.metrics[4]",
      /mae must not be negative/,
    ],
    [
      "drift check with both",
      (p) => (p.spec.drift.checks[0].pValue = 0.05),
      "spec.drift.checks[0]",
      /exactly one/,
    ],
    ["drift window with both", (p) => (p.spec.drift.window.cases = 500), "spec.drift.window", /not both/],
    [
      "retrain without template",
      (p) => delete p.spec.actions.retrainTemplate,
      "spec.actions.retrainTemplate",
      /retrainTemplate/,
    ],
    ["unknown metric", (p) => (p.spec.metrics[0].name = "f1"), "spec.metrics[0].name", /sensitivity/],
    ["unknown action", (p) => (p.spec.actions.onDrift = ["Panic"]), "spec.actions.onDrift[0]", /Alert/],
  ];
  it.each(cases)("rejects %s, naming the field", (_name, mutate, field, message) => {
    const p = example("ValidationPolicy");
    mutate(p);
    const lines = problems(ValidationPolicySchema, p);
    expect(
      lines.some((l) => l.startsWith(`${field}: `) && message.test(l)),
      lines.join("\n"),
    ).toBe(true);
  });

  it("defaults sampling, schedule, actions and change control", () => {
    const p = ValidationPolicySchema.parse({
      ...example("ValidationPolicy"),
      spec: { modelRef: { name: "m" }, metrics: [{ name: "sensitivity", min: 0.8 }] },
    });
    expect(p.spec.sampling).toEqual({ rate: 0.05, strategy: "Random", minPerWindow: 30 });
    expect(p.spec.schedule.interval).toBe("1h");
    expect(p.spec.actions.onBreach).toEqual(["Alert", "Failover"]);
    expect(p.spec.changeControl.approvalsRequired).toBe(1);
    expect(p.spec.metrics[0]).toMatchObject({ confidence: 0.95, minSamples: 50 });
  });
});

describe("RetrainJob", () => {
  it.each<[string, (j: Loose) => void, string, RegExp]>([
    ["candidate equal to base", (j) => (j.spec.candidateVersion = "v2"), "spec.candidateVersion", /differ/],
    [
      "since after until",
      (j) => (j.spec.dataset.since = "2027-01-01T00:00:00Z"),
      "spec.dataset.until",
      /before/,
    ],
    ["unknown purpose", (j) => (j.spec.dataset.purpose = "MARKETING"), "spec.dataset.purpose", /SYSDEV/],
    [
      "historical fraction above 1",
      (j) => (j.spec.dataset.historicalFraction = 2),
      "spec.dataset.historicalFraction",
      /<=1/,
    ],
    ["no trainer image", (j) => delete j.spec.trainer.image, "spec.trainer.image", /expected string/],
  ])("rejects %s, naming the field", (_n, mutate, field, message) => {
    const j = example("RetrainJob");
    mutate(j);
    const lines = problems(RetrainJobSchema, j);
    expect(
      lines.some((l) => l.startsWith(`${field}: `) && message.test(l)),
      lines.join("\n"),
    ).toBe(true);
  });

  it("defaults purpose to SYSDEV and promotion to Manual", () => {
    const j = example("RetrainJob");
    delete j.spec.dataset.purpose;
    delete j.spec.promotion;
    const parsed = RetrainJobSchema.parse(j);
    expect(parsed.spec.dataset.purpose).toBe("SYSDEV");
    expect(parsed.spec.promotion.mode).toBe("Manual");
  });
});

describe("ConsentRecord", () => {
  it.each<[string, string, RegExp]>([
    ["digits only (an MRN)", "1234567890", /raw medical record number/],
    ["a name", "Jane Doe", /looks like a name/],
    ["hex without prefix", "a".repeat(64), /pn: followed by 64/],
    ["prefix with short hash", "pn:abc123", /pn: followed by 64/],
    ["uppercase hex", `pn:${"A".repeat(64)}`, /pn: followed by 64/],
  ])("rejects a subject that is %s", (_n, value, message) => {
    const c = example("ConsentRecord");
    c.spec.subject.pseudonym = value;
    const lines = problems(ConsentRecordSchema, c);
    expect(
      lines.some((l) => l.startsWith("spec.subject.pseudonym: ") && message.test(l)),
      lines.join("\n"),
    ).toBe(true);
    expect(lines.join("\n")).not.toContain(value);
  });

  it("rejects repeated purposes and an inverted period", () => {
    const c = example("ConsentRecord");
    c.spec.provisions[0].purposes = ["SYSDEV", "SYSDEV"];
    c.spec.provisions[0].period = { start: "2026-02-01T00:00:00Z", end: "2026-01-01T00:00:00Z" };
    const lines = problems(ConsentRecordSchema, c);
    expect(lines).toContain("spec.provisions[0].purposes: purposes must not repeat");
    expect(lines).toContain("spec.provisions[0].period.end: period.start must be before period.end");
  });

  it("isPseudonym accepts exactly pn: + 64 lowercase hex", () => {
    expect(isPseudonym(`pn:${"0f".repeat(32)}`)).toBe(true);
    expect(isPseudonym(`pn:${"0f".repeat(32)}0`)).toBe(false);
    expect(isPseudonym("0f".repeat(32))).toBe(false);
  });
});

describe("common", () => {
  it("Condition has exactly the metav1.Condition fields", () => {
    expect(Object.keys(ConditionSchema.shape).sort()).toEqual(
      ["lastTransitionTime", "message", "observedGeneration", "reason", "status", "type"].sort(),
    );
    const ok = {
      type: "Ready",
      status: "True",
      observedGeneration: 3,
      lastTransitionTime: "2026-01-01T00:00:00Z",
      reason: "AllVersionsReady",
      message: "",
    };
    expect(ConditionSchema.parse(ok)).toEqual(ok);
    expect(problems(ConditionSchema, { ...ok, status: "Yes" })[0]).toMatch(/^status: /);
    expect(problems(ConditionSchema, { ...ok, reason: "not camel" })[0]).toMatch(/^reason: /);
  });

  it("durationToMs reads Go-style durations plus days", () => {
    expect(durationToMs("90s")).toBe(90_000);
    expect(durationToMs("1h30m")).toBe(5_400_000);
    expect(durationToMs("7d")).toBe(604_800_000);
    expect(durationToMs("250ms")).toBe(250);
    expect(() => durationToMs("soon")).toThrow(/invalid duration/);
  });
});
