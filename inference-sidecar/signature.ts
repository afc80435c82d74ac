/**
 * The model signature: what goes in (with DICOM preprocessing) and what comes out (labels, activation,
 * operating point). Shaped after the MedModel `signature` (docs/sidecar.md); read from the ConfigMap the
 * operator mounts (`--signature`) or derived from the model's own metadata. Wire-compatible with the MedModel
 * `spec.signature` in crds/ (checked by a type test); unknown keys are ignored so a newer operator does not
 * break an older sidecar. Accepts a little more: operating points with a label, CHW/HWC layouts, scalars.
 */
import { z } from "zod";
import { Datatype, fromOrtType } from "./datatypes.ts";

const Dim = z.number().int().min(-1);

export const DicomPreprocessing = z.object({
  /** Modality LUT: the header's RescaleSlope/Intercept (default) or fixed values. */
  rescale: z
    .object({
      fromHeader: z.boolean().default(true),
      slope: z.number().optional(),
      intercept: z.number().optional(),
    })
    .prefault({})
    .refine(
      (r) => r.fromHeader || (r.slope !== undefined && r.intercept !== undefined),
      "rescale needs slope and intercept unless fromHeader is true",
    ),
  /** VOI window to [0, 1], after the modality LUT. Absent: the image's own min–max range. */
  window: z
    .object({
      fromHeader: z.boolean().default(false),
      center: z.number().optional(),
      width: z.number().positive().optional(),
    })
    .refine(
      (w) => w.fromHeader || (w.center !== undefined && w.width !== undefined),
      "window needs center and width unless fromHeader is true",
    )
    .optional(),
  invertMonochrome1: z.boolean().default(true),
  /** Target size (bilinear). Absent: the size the input shape fixes, else the image's own size. */
  resize: z.object({ height: z.number().int().positive(), width: z.number().int().positive() }).optional(),
  normalize: z
    .object({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) })
    .optional(),
  channels: z.union([z.literal(1), z.literal(3)]).default(1),
  /** NCHW/NHWC as the MedModel allows; CHW/HWC for models without a batch dimension. */
  layout: z.enum(["NCHW", "NHWC", "CHW", "HWC"]).default("NCHW"),
});
export type DicomPreprocessing = z.infer<typeof DicomPreprocessing>;

export const InputSpec = z.object({
  name: z.string().min(1),
  datatype: Datatype,
  shape: z.array(Dim),
  dicom: DicomPreprocessing.optional(),
});
export type InputSpec = z.infer<typeof InputSpec>;

export const OperatingPoint = z.union([
  z.number().min(0).max(1),
  z.object({ threshold: z.number().min(0).max(1), label: z.string().optional() }).strict(),
]);
export type OperatingPoint = z.infer<typeof OperatingPoint>;

export const OutputSpec = z.object({
  name: z.string().min(1),
  datatype: Datatype,
  shape: z.array(Dim),
  labels: z.array(z.string().min(1)).optional(),
  activation: z.enum(["none", "softmax", "sigmoid"]).default("none"),
  operatingPoint: OperatingPoint.optional(),
});
export type OutputSpec = z.infer<typeof OutputSpec>;

export const Signature = z
  .object({
    inputs: z.array(InputSpec).min(1),
    outputs: z.array(OutputSpec).min(1),
  })
  .superRefine((sig, ctx) => {
    for (const [kind, list] of [
      ["inputs", sig.inputs],
      ["outputs", sig.outputs],
    ] as const) {
      const seen = new Set<string>();
      for (const t of list) {
        if (seen.has(t.name))
          ctx.addIssue({ code: "custom", path: [kind], message: `duplicate tensor name "${t.name}"` });
        seen.add(t.name);
      }
    }
    for (const o of sig.outputs) {
      const op = o.operatingPoint;
      if (
        op !== undefined &&
        typeof op === "object" &&
        op.label !== undefined &&
        !o.labels?.includes(op.label)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["outputs", o.name],
          message: `operatingPoint label "${op.label}" is not in labels`,
        });
      }
    }
  });
export type Signature = z.infer<typeof Signature>;
export type SignatureInput = z.input<typeof Signature>;

/** What onnxruntime-node 1.30 tells about a session's inputs and outputs. */
export interface ValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

export class SignatureError extends Error {
  override name = "SignatureError";
}

function specFromMetadata(m: ValueMetadata): { name: string; datatype: Datatype; shape: number[] } {
  if (!m.isTensor)
    throw new SignatureError(`"${m.name}" is not a tensor; only tensor inputs and outputs can be served`);
  const datatype = fromOrtType(m.type ?? "");
  if (datatype === undefined)
    throw new SignatureError(`"${m.name}" has type ${m.type}, which the protocol cannot carry`);
  // Symbolic dims (strings) and unknown dims (-1 or 0 from some exporters) are variable.
  const shape = (m.shape ?? []).map((d) => (typeof d === "number" && d > 0 ? d : -1));
  return { name: m.name, datatype, shape };
}

/** The signature a model's own metadata implies: names, datatypes, shapes; no preprocessing or labels. */
export function deriveSignature(
  inputs: readonly ValueMetadata[],
  outputs: readonly ValueMetadata[],
): Signature {
  return Signature.parse({ inputs: inputs.map(specFromMetadata), outputs: outputs.map(specFromMetadata) });
}

/**
 * Checks a declared signature against the model: every tensor exists with the same datatype and a compatible
 * shape (same rank; a fixed dim in the model must not be contradicted). Returns the declared signature with
 * each shape tightened to the model's fixed dims.
 */
export function reconcileSignature(declared: Signature, model: Signature): Signature {
  const check = <T extends { name: string; datatype: Datatype; shape: number[] }>(
    kind: string,
    d: T[],
    m: Signature["inputs"] | Signature["outputs"],
  ): T[] => {
    const byName = new Map(m.map((t) => [t.name, t]));
    if (kind === "input") {
      const declaredNames = new Set(d.map((t) => t.name));
      const missing = m.filter((t) => !declaredNames.has(t.name)).map((t) => `"${t.name}"`);
      if (missing.length > 0)
        throw new SignatureError(`signature lacks model input(s) ${missing.join(", ")}`);
    }
    return d.map((t) => {
      const mt = byName.get(t.name);
      if (!mt)
        throw new SignatureError(
          `signature ${kind} "${t.name}" is not in the model (model has ${[...byName.keys()].map((n) => `"${n}"`).join(", ")})`,
        );
      if (mt.datatype !== t.datatype)
        throw new SignatureError(
          `signature ${kind} "${t.name}" is ${t.datatype}, the model says ${mt.datatype}`,
        );
      if (mt.shape.length !== t.shape.length && mt.shape.length > 0) {
        throw new SignatureError(
          `signature ${kind} "${t.name}" has rank ${t.shape.length}, the model says ${mt.shape.length}`,
        );
      }
      const shape = t.shape.map((dim, i) => {
        const md = mt.shape[i] ?? -1;
        if (md !== -1 && dim !== -1 && md !== dim)
          throw new SignatureError(`signature ${kind} "${t.name}" dim ${i} is ${dim}, the model says ${md}`);
        return md !== -1 ? md : dim;
      });
      return { ...t, shape };
    });
  };
  return {
    inputs: check("input", declared.inputs, model.inputs),
    outputs: check("output", declared.outputs, model.outputs),
  };
}

/**
 * True when requests can be stacked along dim 0: every input and output has a variable first dimension.
 * A model with a fixed first dim (or a scalar) is run one request at a time.
 */
export function isBatchable(sig: Signature): boolean {
  return [...sig.inputs, ...sig.outputs].every((t) => t.shape.length > 0 && t.shape[0] === -1);
}
