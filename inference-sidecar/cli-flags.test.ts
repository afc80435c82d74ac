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

describe("sidecar onnxruntime threading flags", () => {
  it("defaults to threads sized to the CPU budget and no busy-waiting", () => {
    const f = parseFlags(["--model=m.onnx", "--name=cxr"]);
    expect(f["intra-op-threads"]).toBe("auto");
    expect(f["spin-wait"]).toBe(false);
  });

  it("takes a thread count and --spin-wait, and rejects a bad count", () => {
    const f = parseFlags(["--model=m.onnx", "--name=cxr", "--intra-op-threads=3", "--spin-wait"]);
    expect(f["intra-op-threads"]).toBe(3);
    expect(f["spin-wait"]).toBe(true);
    expect(() => parseFlags(["--model=m.onnx", "--name=cxr", "--intra-op-threads=0"])).toThrow(
      /intra-op-threads/,
    );
    expect(() => parseFlags(["--model=m.onnx", "--name=cxr", "--intra-op-threads=many"])).toThrow();
  });
});
