/**
 * A logistic-regression ONNX model (features float32 [N, F] → Gemm → Sigmoid → score [N, 1]), built with
 * onnx-proto: what the tiny test trainer writes and what `medmlops evaluate` runs in tests.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
const FLOAT = 1;

export function linearModel(weights: readonly number[], bias: number): Uint8Array {
  const f = weights.length;
  const tensor = (name: string, dims: number[], values: readonly number[]) => ({
    name,
    dims,
    dataType: FLOAT,
    rawData: new Uint8Array(new Float32Array(values).buffer),
  });
  const io = (name: string, shape: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: "medmlops-tiny-trainer",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "logistic",
      input: [io("features", ["N", f])],
      output: [io("score", ["N", 1])],
      initializer: [tensor("w", [f, 1], weights), tensor("b", [1], [bias])],
      node: [
        { opType: "Gemm", input: ["features", "w", "b"], output: ["logit"], name: "gemm" },
        { opType: "Sigmoid", input: ["logit"], output: ["score"], name: "sigmoid" },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Plain batch gradient descent on the log-loss; deterministic. */
export function fitLogistic(
  x: readonly number[][],
  y: readonly number[],
  epochs = 300,
  lr = 0.5,
): { w: number[]; b: number } {
  const f = x[0]?.length ?? 0;
  const w = new Array<number>(f).fill(0);
  let b = 0;
  for (let e = 0; e < epochs; e++) {
    const gw = new Array<number>(f).fill(0);
    let gb = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i] as number[];
      const z = xi.reduce((s, v, j) => s + v * (w[j] as number), b);
      const err = 1 / (1 + Math.exp(-z)) - (y[i] as number);
      for (let j = 0; j < f; j++) gw[j] = (gw[j] as number) + err * (xi[j] as number);
      gb += err;
    }
    for (let j = 0; j < f; j++) w[j] = (w[j] as number) - (lr * (gw[j] as number)) / x.length;
    b -= (lr * gb) / x.length;
  }
  return { w, b };
}
