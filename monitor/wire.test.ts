/**
 * The records' map validators (one loop each, for ingest speed) give the verdicts of the plain zod forms they
 * replace, on well-formed and on every kind of malformed value; and a bad map still names its field's code.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FeatureName, featureMap, metadataMap, parseRecord } from "./wire.ts";

const zodFeatures = z
  .record(FeatureName, z.number())
  .refine((m) => Object.keys(m).length <= 256, "at most 256 features");
const zodMetadata = z
  .record(z.string(), z.union([z.string().max(64), z.number()]))
  .refine((m) => Object.keys(m).length <= 32, "at most 32 keywords");

const many = (n: number, value: unknown) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, value]));
const values: [string, unknown][] = [
  ["empty", {}],
  ["features", { "image:mean": 1.5, "score:pneumothorax": 0.2, "a.b_c/d-e:f": -3 }],
  ["metadata", { Modality: "DX", KVP: 110, Manufacturer: "x".repeat(64) }],
  ["a 65-char string", { Manufacturer: "x".repeat(65) }],
  ["a string value", { f: "1" }],
  ["null value", { f: null }],
  ["boolean value", { f: true }],
  ["object value", { f: { g: 1 } }],
  ["array value", { f: [1] }],
  ["NaN", { f: Number.NaN }],
  ["Infinity", { f: Number.POSITIVE_INFINITY }],
  ["bad key (leading dot)", { ".f": 1 }],
  ["bad key (space)", { "f g": 1 }],
  ["bad key (empty)", { "": 1 }],
  ["key of 128", { [`a${"b".repeat(127)}`]: 1 }],
  ["key of 129", { [`a${"b".repeat(128)}`]: 1 }],
  ["32 keys", many(32, 1)],
  ["33 keys", many(33, 1)],
  ["256 keys", many(256, 1)],
  ["257 keys", many(257, 1)],
  ["null", null],
  ["array", [1, 2]],
  ["number", 5],
  ["string", "x"],
];

describe("record map validators", () => {
  it.each(values)("featureMap agrees with z.record(FeatureName, z.number()) on %s", (_, v) => {
    expect(featureMap(256).safeParse(v).success).toBe(zodFeatures.safeParse(v).success);
  });
  it.each(values)("metadataMap agrees with z.record(string, string ≤ 64 | number) on %s", (_, v) => {
    expect(metadataMap(32).safeParse(v).success).toBe(zodMetadata.safeParse(v).success);
  });
  it("refuses __proto__ as a feature name (zod's record drops the key and accepts; fastify refuses such bodies first)", () => {
    const v = JSON.parse('{"__proto__": 1}');
    expect(featureMap(256).safeParse(v).success).toBe(false);
    expect(zodFeatures.safeParse(v).success).toBe(true);
  });
  it("keeps the values it accepts", () => {
    const inputs = { "image:mean": 1.5, "image:std": 2 };
    expect(featureMap(256).parse(inputs)).toEqual(inputs);
  });

  it("a record with a bad map is rejected with its field's code", () => {
    const base = {
      time: "2026-12-05T00:00:00Z",
      namespace: "radiology",
      model: "chest-xray",
      version: "v1",
      caseId: "c1",
    };
    expect(
      parseRecord({ ...base, inputs: { x: 1 }, outputs: { y: 0.5 }, metadata: { Modality: "CT" } }).ok,
    ).toBe(true);
    expect(parseRecord({ ...base, inputs: { x: "1" } })).toEqual({ ok: false, code: "INVALID_INPUTS" });
    expect(parseRecord({ ...base, outputs: { "bad key": 1 } })).toEqual({
      ok: false,
      code: "INVALID_OUTPUTS",
    });
    expect(parseRecord({ ...base, metadata: { Modality: null } })).toEqual({
      ok: false,
      code: "INVALID_METADATA",
    });
    expect(parseRecord({ ...base, metadata: { PatientName: "x" } })).toEqual({
      ok: false,
      code: "METADATA_NOT_ALLOWED",
    });
    const r = parseRecord(base);
    expect(r.ok && r.record.inputs).toEqual({});
  });
});
