import type { ModelSignature } from "../crds/index.ts";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  deriveSignature,
  isBatchable,
  reconcileSignature,
  Signature,
  SignatureError,
  type SignatureInput,
} from "./signature.ts";

describe("signature", () => {
  const derived = deriveSignature(
    [{ name: "0", isTensor: true, type: "float32", shape: ["N", 3, 224, 224] }],
    [{ name: "logits", isTensor: true, type: "float32", shape: ["N", 2] }],
  );

  it("derives names, datatypes and variable dims from onnxruntime metadata", () => {
    expect(derived).toMatchObject({
      inputs: [{ name: "0", datatype: "FP32", shape: [-1, 3, 224, 224] }],
      outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 2], activation: "none" }],
    });
    expect(isBatchable(derived)).toBe(true);
    const fixed = deriveSignature(
      [{ name: "x", isTensor: true, type: "int64", shape: [2, 3] }],
      [{ name: "y", isTensor: true, type: "bool", shape: [] }],
    );
    expect(fixed.inputs[0]?.datatype).toBe("INT64");
    expect(fixed.outputs[0]?.datatype).toBe("BOOL");
    expect(isBatchable(fixed)).toBe(false);
  });

  it("refuses what the protocol cannot carry", () => {
    expect(() => deriveSignature([{ name: "m", isTensor: false }], [])).toThrow(SignatureError);
    expect(() => deriveSignature([{ name: "q", isTensor: true, type: "int4", shape: [1] }], [])).toThrow(
      /int4/,
    );
  });

  it("reconciles a declared signature with the model and names every disagreement", () => {
    const declared = Signature.parse({
      inputs: [
        {
          name: "0",
          datatype: "FP32",
          shape: [-1, 3, -1, -1],
          dicom: { window: { center: 40, width: 400 }, channels: 3 },
        },
      ],
      outputs: [
        {
          name: "logits",
          datatype: "FP32",
          shape: [-1, 2],
          labels: ["normal", "abnormal"],
          activation: "softmax",
          operatingPoint: 0.4,
        },
      ],
    });
    const r = reconcileSignature(declared, derived);
    expect(r.inputs[0]?.shape).toEqual([-1, 3, 224, 224]);
    expect(r.outputs[0]?.labels).toEqual(["normal", "abnormal"]);
    const bad = (patch: object) => reconcileSignature(Signature.parse({ ...declared, ...patch }), derived);
    expect(() => bad({ inputs: [{ name: "image", datatype: "FP32", shape: [-1, 3, 224, 224] }] })).toThrow(
      /lacks model input\(s\) "0"/,
    );
    expect(() =>
      bad({
        inputs: [
          { name: "0", datatype: "FP32", shape: [-1, 3, 224, 224] },
          { name: "image", datatype: "FP32", shape: [-1, 3, 224, 224] },
        ],
      }),
    ).toThrow(/"image" is not in the model/);
    expect(() => bad({ inputs: [{ name: "0", datatype: "FP16", shape: [-1, 3, 224, 224] }] })).toThrow(
      /FP16, the model says FP32/,
    );
    expect(() => bad({ inputs: [{ name: "0", datatype: "FP32", shape: [-1, 1, 224, 224] }] })).toThrow(
      /dim 1 is 1, the model says 3/,
    );
    expect(() => bad({ outputs: [{ name: "probs", datatype: "FP32", shape: [-1, 2] }] })).toThrow(/"probs"/);
  });

  it("validates what zod can: duplicates, operating point labels, window completeness", () => {
    const base = {
      inputs: [{ name: "x", datatype: "FP32", shape: [-1] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
    };
    expect(Signature.safeParse({ ...base, inputs: [base.inputs[0], base.inputs[0]] }).success).toBe(false);
    expect(
      Signature.safeParse({
        ...base,
        outputs: [{ ...base.outputs[0], labels: ["a"], operatingPoint: { label: "b", threshold: 0.5 } }],
      }).success,
    ).toBe(false);
    expect(
      Signature.safeParse({ ...base, inputs: [{ ...base.inputs[0], dicom: { window: { center: 40 } } }] })
        .success,
    ).toBe(false);
    expect(Signature.safeParse({ ...base, inputs: [{ ...base.inputs[0], datatype: "FLOAT" }] }).success).toBe(
      false,
    );
  });

  it("accepts the MedModel signature the operator writes (crds shape)", () => {
    // Compile-time: every MedModel signature is a valid sidecar signature input.
    expectTypeOf<ModelSignature>().toExtend<SignatureInput>();
    const fromOperator = {
      inputs: [
        {
          name: "image",
          datatype: "FP32",
          shape: [-1, 3, 224, 224],
          dicom: {
            rescale: { fromHeader: true },
            window: { fromHeader: false, center: -600, width: 1500 },
            invertMonochrome1: true,
            resize: { height: 224, width: 224 },
            normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
            channels: 3,
            layout: "NCHW",
          },
        },
      ],
      outputs: [
        {
          name: "logits",
          datatype: "FP32",
          shape: [-1, 2],
          labels: ["normal", "nodule"],
          activation: "softmax",
          operatingPoint: 0.35,
        },
      ],
    };
    expect(Signature.parse(fromOperator).inputs[0]?.dicom?.window).toEqual({
      fromHeader: false,
      center: -600,
      width: 1500,
    });
  });
});
