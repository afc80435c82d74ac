import { describe, expect, it } from "vitest";
import { activate, predictions, softmax } from "./postprocess.ts";
import { OutputSpec } from "./signature.ts";

describe("postprocess", () => {
  it("applies softmax per row and sigmoid element-wise", () => {
    const s = activate("softmax", Float32Array.from([0, 0, 1000, 0]), [2, 2]);
    expect(s).toEqual([0.5, 0.5, 1, 0]);
    expect(activate("sigmoid", [0], [1, 1])).toEqual([0.5]);
    expect(activate("none", [3, -1], [2])).toEqual([3, -1]);
    expect(softmax([1, 2, 3]).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("decides on the positive (last) class for a plain operating point, or on the named label", () => {
    const binary = OutputSpec.parse({
      name: "y",
      datatype: "FP32",
      shape: [-1, 2],
      labels: ["normal", "nodule"],
      activation: "softmax",
      operatingPoint: 0.35,
    });
    const [a, b] = predictions(binary, [0.81, 0.19, 0.6, 0.4], [2, 2]);
    expect(a?.top).toEqual({ label: "normal", score: 0.81 });
    expect(a?.decision).toEqual({ label: "nodule", score: 0.19, threshold: 0.35, positive: false });
    expect(b?.decision?.positive).toBe(true);
    const named = OutputSpec.parse({
      name: "y",
      datatype: "FP32",
      shape: [-1, 3],
      labels: ["a", "b", "c"],
      operatingPoint: { label: "b", threshold: 0.5 },
    });
    expect(predictions(named, [0.1, 0.5, 0.4], [1, 3])[0]?.decision).toEqual({
      label: "b",
      score: 0.5,
      threshold: 0.5,
      positive: true,
    });
    const single = OutputSpec.parse({
      name: "p",
      datatype: "FP32",
      shape: [-1, 1],
      activation: "sigmoid",
      operatingPoint: 0.7,
    });
    expect(predictions(single, [0.69], [1, 1])[0]?.decision).toMatchObject({ label: "0", positive: false });
  });
});
