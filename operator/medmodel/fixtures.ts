/** A MedModel for tests and benchmarks, parsed through the real API schema so defaults apply as in a cluster. */
import { type MedModel, MedModelSchema } from "../../crds/index.ts";

export const SHA_V1 = "1".repeat(64);
export const SHA_V2 = "2".repeat(64);

export function medModelManifest(name = "chest", namespace = "rad", spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "medmlops.io/v1alpha1",
    kind: "MedModel",
    metadata: { name, namespace },
    spec: {
      modelCard: {
        intendedUse: "Triage aid for adult chest radiographs; not a diagnosis.",
        task: "classification",
        modalities: ["CR", "DX"],
        validUntil: "2027-12-31",
        owner: "radiology-ai@hospital.example",
      },
      signature: {
        inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, 8, 8] }],
        outputs: [{ name: "scores", datatype: "FP32", shape: [-1, 2], labels: ["normal", "finding"] }],
      },
      versions: [
        { name: "v1", source: { uri: "pvc://models/chest/v1/model.onnx", sha256: SHA_V1 } },
        { name: "v2", source: { uri: "https://models.hospital.example/chest/v2.onnx", sha256: SHA_V2 } },
      ],
      activeVersion: "v1",
      rollout: { strategy: "BlueGreen", requireValidation: false },
      ...spec,
    },
  };
}

export function medModel(spec: Record<string, unknown> = {}, name = "chest"): MedModel {
  const parsed = MedModelSchema.parse(medModelManifest(name, "rad", spec));
  parsed.metadata.uid = "0b7f6f0e-1111-4222-8333-944455556666";
  parsed.metadata.generation = 1;
  return parsed;
}
