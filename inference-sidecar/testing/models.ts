/**
 * Small real ONNX models built from TypeScript with `onnx-proto`, so tests and benchmarks run real
 * onnxruntime sessions without committing binaries. Weights come from a seeded PRNG: every build of a
 * model is byte-identical.
 */
import { mulberry32 } from "../../test/support/mulberry32.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;

/** ONNX TensorProto.DataType codes. */
export const ELEM = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

/** Seeded generator shared by the test helpers (test/support/mulberry32.ts). */
export const prng = mulberry32;

type Dim = number | string;

function valueInfo(name: string, elemType: number, shape: Dim[]): IValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function floatInit(name: string, dims: number[], rand: () => number, scale: number): ITensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * scale;
  return { name, dims, dataType: ELEM.FLOAT, rawData: new Uint8Array(data.buffer) };
}

function int64Init(name: string, values: number[]): ITensor {
  const data = new BigInt64Array(values.map((v) => BigInt(v)));
  return { name, dims: [values.length], dataType: ELEM.INT64, rawData: new Uint8Array(data.buffer) };
}

function node(
  opType: string,
  input: string[],
  output: string[],
  attrs: Record<string, number | number[]> = {},
): INode {
  const attribute = Object.entries(attrs).map(([name, v]) =>
    Array.isArray(v)
      ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
      : Number.isInteger(v)
        ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
        : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v },
  );
  return { opType, input, output, attribute, name: `${opType}_${output[0]}` };
}

function encodeModel(graph: onnxProto.onnx.IGraphProto, opset = 13): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: "medmlops-testing",
    opsetImport: [{ domain: "", version: opset }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** CNN classifier: image[N,1,side,side] → Conv/Relu/GlobalAveragePool/Flatten/Gemm → logits[N,3]. */
function cnn(name: string, side: number, seed: number): Uint8Array {
  const r = prng(seed);
  return encodeModel({
    name,
    input: [valueInfo("image", ELEM.FLOAT, ["N", 1, side, side])],
    output: [valueInfo("logits", ELEM.FLOAT, ["N", 3])],
    initializer: [
      floatInit("w1", [4, 1, 3, 3], r, 0.5),
      floatInit("b1", [4], r, 0.1),
      floatInit("w2", [3, 4], r, 1),
      floatInit("b2", [3], r, 0.1),
    ],
    node: [
      node("Conv", ["image", "w1", "b1"], ["c1"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
      node("Relu", ["c1"], ["r1"]),
      node("GlobalAveragePool", ["r1"], ["g1"]),
      node("Flatten", ["g1"], ["f1"], { axis: 1 }),
      node("Gemm", ["f1", "w2", "b2"], ["logits"], { transB: 1 }),
    ],
  });
}

/** The CNN on 16×16 images. */
export function cnnClassifier(): Uint8Array {
  return cnn("cnn", 16, 1);
}

/**
 * The same CNN on 128×128 images: 64 KiB an image, so request bodies and batch stacks are large enough for
 * the owned-buffer pool (smaller ones are never pooled).
 */
export function cnnClassifier128(): Uint8Array {
  return cnn("cnn128", 128, 3);
}

/** Segmentation-shaped: image[N,1,16,16] → Conv(2 classes) → mask[N,2,16,16]. */
export function segmenter(): Uint8Array {
  const r = prng(2);
  return encodeModel({
    name: "seg",
    input: [valueInfo("image", ELEM.FLOAT, ["N", 1, 16, 16])],
    output: [valueInfo("mask", ELEM.FLOAT, ["N", 2, 16, 16])],
    initializer: [floatInit("w", [2, 1, 3, 3], r, 0.5), floatInit("b", [2], r, 0.1)],
    node: [node("Conv", ["image", "w", "b"], ["mask"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })],
  });
}

/** Two inputs, two outputs: a[N,4], b[N,4] → sum = a + b, prod = a * b. */
export function twoInputs(): Uint8Array {
  return encodeModel({
    name: "two",
    input: [valueInfo("a", ELEM.FLOAT, ["batch", 4]), valueInfo("b", ELEM.FLOAT, ["batch", 4])],
    output: [valueInfo("sum", ELEM.FLOAT, ["batch", 4]), valueInfo("prod", ELEM.FLOAT, ["batch", 4])],
    node: [node("Add", ["a", "b"], ["sum"]), node("Mul", ["a", "b"], ["prod"])],
  });
}

/** INT64 input: ids[N,5] → doubled = ids * 2 (INT64) and asFloat = Cast(ids) (FP32). */
export function int64Model(): Uint8Array {
  return encodeModel({
    name: "int64",
    input: [valueInfo("ids", ELEM.INT64, ["N", 5])],
    output: [valueInfo("doubled", ELEM.INT64, ["N", 5]), valueInfo("asFloat", ELEM.FLOAT, ["N", 5])],
    initializer: [int64Init("two", [2])],
    node: [node("Mul", ["ids", "two"], ["doubled"]), node("Cast", ["ids"], ["asFloat"], { to: ELEM.FLOAT })],
  });
}

/**
 * Loads, but no run can succeed for an odd batch: x[N,6] reshaped to [-1,4] needs N×6 divisible by 4. The
 * warm-up at start (batch 1) fails, as a model broken in a way only running it shows would.
 */
export function failsAtRun(): Uint8Array {
  return encodeModel({
    name: "fails",
    input: [valueInfo("x", ELEM.FLOAT, ["N", 6])],
    output: [valueInfo("y", ELEM.FLOAT, ["M", 4])],
    initializer: [int64Init("shape", [-1, 4])],
    node: [node("Reshape", ["x", "shape"], ["y"])],
  });
}

/** Tensor names "0" → "1", fixed shape [2,3], no batch dimension: must run one request at a time. */
export function numericNames(): Uint8Array {
  return encodeModel({
    name: "numeric",
    input: [valueInfo("0", ELEM.FLOAT, [2, 3])],
    output: [valueInfo("1", ELEM.FLOAT, [2, 3])],
    node: [node("Relu", ["0"], ["1"])],
  });
}

/**
 * ResNet-18-shaped classifier: input[N,3,224,224] → logits[N,1000], ~11.7 M random parameters (BatchNorm folded
 * into the convolutions, as exporters do). Same FLOPs and memory traffic as the real network.
 */
export function resnet18(): Uint8Array {
  const r = prng(18);
  const init: ITensor[] = [];
  const nodes: INode[] = [];
  let n = 0;
  const conv = (x: string, cin: number, cout: number, k: number, stride: number, relu: boolean): string => {
    const id = n++;
    // He-style scale keeps activations finite through 18 layers.
    init.push(
      floatInit(`w${id}`, [cout, cin, k, k], r, Math.sqrt(6 / (cin * k * k))),
      floatInit(`b${id}`, [cout], r, 0.01),
    );
    const p = Math.floor(k / 2);
    nodes.push(
      node("Conv", [x, `w${id}`, `b${id}`], [`c${id}`], {
        kernel_shape: [k, k],
        strides: [stride, stride],
        pads: [p, p, p, p],
      }),
    );
    if (!relu) return `c${id}`;
    nodes.push(node("Relu", [`c${id}`], [`r${id}`]));
    return `r${id}`;
  };
  let x = conv("input", 3, 64, 7, 2, true);
  nodes.push(node("MaxPool", [x], ["pool"], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }));
  x = "pool";
  let cin = 64;
  for (const [cout, stride0] of [
    [64, 1],
    [128, 2],
    [256, 2],
    [512, 2],
  ] as const) {
    for (let block = 0; block < 2; block++) {
      const stride = block === 0 ? stride0 : 1;
      const a = conv(x, cin, cout, 3, stride, true);
      const b = conv(a, cout, cout, 3, 1, false);
      const shortcut = stride !== 1 || cin !== cout ? conv(x, cin, cout, 1, stride, false) : x;
      const id = n++;
      nodes.push(node("Add", [b, shortcut], [`add${id}`]), node("Relu", [`add${id}`], [`out${id}`]));
      x = `out${id}`;
      cin = cout;
    }
  }
  nodes.push(node("GlobalAveragePool", [x], ["gap"]), node("Flatten", ["gap"], ["flat"], { axis: 1 }));
  init.push(floatInit("fc_w", [1000, 512], r, Math.sqrt(6 / 512)), floatInit("fc_b", [1000], r, 0.01));
  nodes.push(node("Gemm", ["flat", "fc_w", "fc_b"], ["output"], { transB: 1 }));
  return encodeModel({
    name: "resnet18",
    input: [valueInfo("input", ELEM.FLOAT, ["N", 3, 224, 224])],
    output: [valueInfo("output", ELEM.FLOAT, ["N", 1000])],
    initializer: init,
    node: nodes,
  });
}

export const testModels = {
  cnn: cnnClassifier,
  cnn128: cnnClassifier128,
  seg: segmenter,
  two: twoInputs,
  int64: int64Model,
  numeric: numericNames,
  fails: failsAtRun,
} as const;

export type TestModelName = keyof typeof testModels | "resnet18";

/** Writes a model into `dir` (created if missing) and returns its path. */
export function writeModel(dir: string, name: TestModelName): string {
  mkdirSync(dir, { recursive: true });
  const bytes = name === "resnet18" ? resnet18() : testModels[name]();
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, bytes);
  return path;
}

/**
 * A signature for `cnnClassifier()` that reads a CT slice: window 40/400, normalised, three labels behind a softmax
 * and an operating point on "nodule". Plain JSON (as a signature file holds it); used by tests and `npm start`.
 */
export const cnnCtSignature = {
  inputs: [
    {
      name: "image",
      datatype: "FP32",
      shape: [-1, 1, 16, 16],
      dicom: { window: { center: 40, width: 400 }, normalize: { mean: [0.5], std: [0.25] } },
    },
  ],
  outputs: [
    {
      name: "logits",
      datatype: "FP32",
      shape: [-1, 3],
      labels: ["normal", "nodule", "mass"],
      activation: "softmax",
      operatingPoint: { label: "nodule", threshold: 0.3 },
    },
  ],
};
