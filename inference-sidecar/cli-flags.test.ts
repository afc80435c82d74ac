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

// The operator passes the monitor's Service URL and the MedModel's site (issue 12, contract C5).
describe("sidecar monitor flags", () => {
  it("are off by default and take the URL, batch, queue, namespace and site", () => {
    const off = parseFlags(["--model=m.onnx", "--name=cxr"]);
    expect(off["monitor-url"]).toBeUndefined();
    expect(off["monitor-batch"]).toBe(500);
    expect(off["monitor-queue"]).toBe(10_000);
    const f = parseFlags([
      "--model=m.onnx",
      "--name=cxr",
      "--monitor-url=http://medmlops-monitor.medmlops-system:8090",
      "--monitor-batch=50",
      "--monitor-queue=2000",
      "--monitor-namespace=radiology",
      "--site=north-wing",
    ]);
    expect(f).toMatchObject({
      "monitor-url": "http://medmlops-monitor.medmlops-system:8090",
      "monitor-batch": 50,
      "monitor-queue": 2000,
      "monitor-namespace": "radiology",
      site: "north-wing",
    });
  });

  it("rejects a URL that is not http(s), a zero batch and a site with spaces", () => {
    const base = ["--model=m.onnx", "--name=cxr"];
    expect(() => parseFlags([...base, "--monitor-url=ftp://x"])).toThrow(/monitor-url/);
    expect(() => parseFlags([...base, "--monitor-url=http://x", "--monitor-batch=0"])).toThrow();
    expect(() => parseFlags([...base, "--site=north wing"])).toThrow(/site/);
  });
});

// The metrics port (metrics-server.ts): the MedModel controller passes --metrics-port; env for hand-run pods.
describe("sidecar metrics port flag", () => {
  const base = ["--model=m.onnx", "--name=cxr"];
  it("defaults to 9090, takes the flag, and the env when the flag is absent", () => {
    expect(parseFlags(base, {})["metrics-port"]).toBe(9090);
    expect(parseFlags([...base, "--metrics-port=9191"], {})["metrics-port"]).toBe(9191);
    expect(parseFlags(base, { MEDMLOPS_METRICS_PORT: "9292" })["metrics-port"]).toBe(9292);
    expect(
      parseFlags([...base, "--metrics-port", "9191"], { MEDMLOPS_METRICS_PORT: "9292" })["metrics-port"],
    ).toBe(9191);
  });

  it("refuses a bad port and the inference port", () => {
    expect(() => parseFlags([...base, "--metrics-port=70000"], {})).toThrow(/--metrics-port/);
    expect(() => parseFlags([...base, "--metrics-port=http"], {})).toThrow(/--metrics-port/);
    expect(() => parseFlags(base, { MEDMLOPS_METRICS_PORT: "8080" })).toThrow(/must differ from --port/);
    expect(() => parseFlags([...base, "--port=0", "--metrics-port=0"], {})).not.toThrow();
  });
});
