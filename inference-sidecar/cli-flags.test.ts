import { describe, expect, it } from "vitest";
import { parseFlags } from "./cli.ts";

// The MedModel controller passes the model's de-identification settings as flags (operator/medmodel/children.ts).
describe("sidecar de-identification flags", () => {
  it("takes --deid-option repeatedly, in order", () => {
    const f = parseFlags([
      "--model=m.onnx",
      "--name=cxr",
      "--deid-mode=DataToModel",
      "--deid-option=CleanDescriptors",
      "--deid-option",
      "RetainLongitudinalTemporalInformationModifiedDates",
    ]);
    expect(f["deid-mode"]).toBe("DataToModel");
    expect(f["deid-option"]).toEqual([
      "CleanDescriptors",
      "RetainLongitudinalTemporalInformationModifiedDates",
    ]);
  });

  it("defaults to no options and rejects an unknown one", () => {
    expect(parseFlags(["--model=m.onnx", "--name=cxr"])["deid-option"]).toEqual([]);
    expect(() => parseFlags(["--model=m.onnx", "--name=cxr", "--deid-option=KeepEverything"])).toThrow();
  });
});
