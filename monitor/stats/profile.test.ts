import { describe, expect, it } from "vitest";
import { buildProfile, countCategories, PROFILE_FORMAT, ReferenceProfileSchema } from "./profile.ts";

describe("buildProfile", () => {
  const records = Array.from({ length: 200 }, (_, i) => ({
    inputs: { "image:mean": i / 10 },
    outputs: { "score:pneumothorax": (i % 100) / 100 },
    metadata: { Modality: i % 3 === 0 ? "CR" : "DX", KVP: 100 + (i % 5), Manufacturer: i % 2 ? "ACME" : 7 },
  }));

  it("profiles inputs and outputs as numeric, all-number metadata as numeric, the rest as categorical", () => {
    const p = buildProfile(records, 10);
    expect(p.format).toBe(PROFILE_FORMAT);
    expect(p.n).toBe(200);
    expect(Object.keys(p.features).sort()).toEqual([
      "input:image:mean",
      "metadata:KVP",
      "metadata:Manufacturer",
      "metadata:Modality",
      "output:score:pneumothorax",
    ]);
    const mean = p.features["input:image:mean"]!;
    expect(mean.kind).toBe("numeric");
    if (mean.kind === "numeric") {
      expect(mean.edges).toHaveLength(9);
      expect(mean.counts.reduce((a, b) => a + b)).toBe(200);
    }
    expect(p.features["metadata:KVP"]!.kind).toBe("numeric");
    expect(p.features["metadata:Modality"]).toEqual({ kind: "categorical", counts: { CR: 67, DX: 133 } });
    expect(p.features["metadata:Manufacturer"]).toEqual({
      kind: "categorical",
      counts: { ACME: 100, "7": 100 },
    });
  });

  it("round-trips through JSON and the schema", () => {
    const p = buildProfile(records, 10);
    expect(ReferenceProfileSchema.parse(JSON.parse(JSON.stringify(p)))).toEqual(
      JSON.parse(JSON.stringify(p)),
    );
  });

  it("rejects profiles whose bins do not add up or whose keys have no source", () => {
    const p = JSON.parse(JSON.stringify(buildProfile(records, 10)));
    p.features["input:image:mean"].counts[0] += 1;
    expect(ReferenceProfileSchema.safeParse(p).success).toBe(false);
    const q = JSON.parse(JSON.stringify(buildProfile(records, 10)));
    q.features["input:image:mean"].edges.reverse();
    expect(ReferenceProfileSchema.safeParse(q).success).toBe(false);
    const r = JSON.parse(JSON.stringify(buildProfile(records, 10)));
    r.features.Modality = r.features["metadata:Modality"];
    expect(ReferenceProfileSchema.safeParse(r).success).toBe(false);
  });

  it("counts categories named like Object.prototype members as plain categories", () => {
    expect({ ...countCategories(["constructor", "__proto__", "constructor"]) }).toEqual(
      JSON.parse('{"constructor": 2, "__proto__": 1}'),
    );
  });
});
