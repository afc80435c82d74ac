import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readManifests } from "./examples.ts";
import { invalidCases } from "./invalid-cases.ts";
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

describe("invalid manifests", () => {
  const schemas = schemasByKind as Record<string, { safeParse: (v: unknown) => Loose }>;
  it.each(invalidCases.map((c) => [c.kind, c.name, c] as const))(
    "%s: rejects %s, naming the field",
    (kind, _n, c) => {
      const manifest = example(kind);
      c.mutate(manifest);
      const lines = problems(schemas[kind]!, manifest);
      expect(
        lines.some((l) => l.startsWith(`${c.field}: `) && c.message.test(l)),
        lines.join("\n"),
      ).toBe(true);
    },
  );
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

  it("accepts Gateway API traffic routing, defaulting the listener port to 80", () => {
    const gatewayAPI = { parentRefs: [{ name: "hospital-gw", namespace: "gateways", sectionName: "https" }] };
    const spec = MedModelSpecSchema.parse({ ...minimalSpec, rollout: { trafficRouting: { gatewayAPI } } });
    expect(spec.rollout.trafficRouting?.gatewayAPI).toEqual({ ...gatewayAPI, port: 80 });
    const bad = (g: unknown) =>
      MedModelSpecSchema.safeParse({ ...minimalSpec, rollout: { trafficRouting: { gatewayAPI: g } } })
        .success;
    expect(bad({ parentRefs: [] })).toBe(false);
    expect(bad({ parentRefs: Array.from({ length: 9 }, (_, i) => ({ name: `gw-${i}` })) })).toBe(false);
    expect(bad({ parentRefs: [{ name: "gw" }], hostnames: ["Not A Host"] })).toBe(false);
    expect(bad({ parentRefs: [{ name: "gw" }], hostnames: ["*.radiology.example"], port: 443 })).toBe(true);
  });

  it("rejects another apiVersion", () => {
    const m = example("MedModel");
    m.apiVersion = "medmlops.io/v1";
    expect(problems(MedModelSchema, m)[0]).toMatch(/^apiVersion: .*medmlops.io\/v1alpha1/);
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
