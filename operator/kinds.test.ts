import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { OurKinds } from "./kinds.ts";

// The generated CRD YAML is what the API server serves: the runtime's URLs must match it.
const files = {
  MedModel: "crds/medmodels.yaml",
  ValidationPolicy: "crds/validationpolicies.yaml",
  RetrainJob: "crds/retrainjobs.yaml",
  ConsentRecord: "crds/consentrecords.yaml",
} as const;

describe("operator kinds", () => {
  for (const [kind, file] of Object.entries(files)) {
    it(`${kind} addresses what ${file} defines`, () => {
      const crd = parse(readFileSync(new URL(`../${file}`, import.meta.url), "utf8")) as {
        spec: { group: string; names: { kind: string; plural: string }; versions: { name: string }[] };
      };
      const gvk = OurKinds[kind as keyof typeof files];
      expect(gvk).toEqual({
        group: crd.spec.group,
        version: crd.spec.versions[0]?.name,
        kind: crd.spec.names.kind,
        plural: crd.spec.names.plural,
      });
    });
  }
});
