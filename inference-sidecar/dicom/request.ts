/**
 * A DICOM infer request → one input tensor. `application/dicom` carries one instance; DICOMweb-style
 * `multipart/related; type="application/dicom"` carries a series. Every frame of every instance becomes one
 * item along the batch dimension, in the order received.
 */
import { fromJson, type TensorData, toHalf } from "../datatypes.ts";
import { fail, SidecarError } from "../errors.ts";
import type { Tensor } from "../protocol.ts";
import { DicomPreprocessing, type InputSpec, type Signature } from "../signature.ts";
import { splitMultipart } from "./multipart.ts";
import { type DecodedImage, decodeImage } from "./pixels.ts";
import { grayFrameInto, layoutAxes, planFor, resizeInto, tensorShape, toIntensity } from "./preprocess.ts";

export interface DicomCase {
  tensor: Tensor;
  instances: number;
  /** For the pseudonymous case id only; never logged or returned. */
  studyInstanceUid?: string;
}

export function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

export function isDicomContentType(contentType: string): boolean {
  const m = mediaType(contentType);
  return m === "application/dicom" || m === "multipart/related";
}

/**
 * The input DICOM feeds: the one declaring `dicom` preprocessing, else the only input when it is an image
 * tensor (rank 3 or 4), with default preprocessing.
 */
export function pickDicomInput(sig: Signature): InputSpec & { dicom: DicomPreprocessing } {
  const declared = sig.inputs.filter((i) => i.dicom !== undefined);
  if (declared.length === 1) return declared[0] as InputSpec & { dicom: DicomPreprocessing };
  if (declared.length > 1)
    fail("DICOM_NOT_CONFIGURED", "the signature declares DICOM preprocessing on more than one input");
  const only = sig.inputs[0] as InputSpec;
  if (sig.inputs.length === 1 && (only.shape.length === 4 || only.shape.length === 3)) {
    return { ...only, dicom: DicomPreprocessing.parse({ layout: only.shape.length === 4 ? "NCHW" : "CHW" }) };
  }
  return fail(
    "DICOM_NOT_CONFIGURED",
    "this model has no input configured for DICOM (declare `dicom` preprocessing in the signature)",
  );
}

function convert(data: Float32Array, spec: InputSpec): TensorData {
  switch (spec.datatype) {
    case "FP32":
      return data;
    case "FP64":
      return Float64Array.from(data);
    case "FP16":
      return Uint16Array.from(data, toHalf);
    case "UINT8":
      return Uint8Array.from(data, (v) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v)));
    default:
      try {
        return fromJson(spec.datatype, Array.from(data, Math.round));
      } catch {
        return fail(
          "DICOM_NOT_CONFIGURED",
          `input "${spec.name}" is ${spec.datatype}; DICOM preprocessing produces real values`,
        );
      }
  }
}

/** The DICOM instances of a request body: one for application/dicom, each part of a multipart/related. */
export function splitDicomBody(body: Buffer, contentType: string): Uint8Array[] {
  if (mediaType(contentType) !== "multipart/related") return [body];
  const typeParam = /type="?([^";]+)"?/i.exec(contentType)?.[1]?.toLowerCase();
  if (typeParam !== undefined && typeParam !== "application/dicom") {
    fail(
      "UNSUPPORTED_MEDIA_TYPE",
      `multipart/related of type "${typeParam.slice(0, 60)}" is not supported; use type="application/dicom"`,
    );
  }
  const parts = splitMultipart(body, contentType)
    .filter((p) => p.contentType === undefined || p.contentType === "application/dicom")
    .map((p) => p.body);
  if (parts.length === 0) fail("INVALID_DICOM", "the multipart body holds no application/dicom part");
  return parts;
}

export async function dicomRequestToTensor(
  body: Buffer,
  contentType: string,
  spec: InputSpec & { dicom: DicomPreprocessing },
): Promise<DicomCase> {
  return dicomPartsToTensor(splitDicomBody(body, contentType), spec);
}

export async function dicomPartsToTensor(
  parts: Uint8Array[],
  spec: InputSpec & { dicom: DicomPreprocessing },
): Promise<DicomCase> {
  const images: DecodedImage[] = [];
  for (const p of parts) images.push(await decodeImage(p));
  const first = images[0] as DecodedImage;
  const plan = planFor(spec, spec.dicom, first.header);
  const ax = layoutAxes(plan.layout);
  if (spec.shape.length !== ax.rank)
    fail(
      "DICOM_NOT_CONFIGURED",
      `input "${spec.name}" has rank ${spec.shape.length}; layout ${plan.layout} needs rank ${ax.rank}`,
    );
  const items = images.reduce((a, im) => a + im.frames.length, 0);
  if (ax.rank === 3 && items !== 1)
    fail(
      "SHAPE_MISMATCH",
      `input "${spec.name}" takes one image (layout ${plan.layout}); got ${items} frames`,
    );
  const batchDim = spec.shape[0] ?? -1;
  if (ax.rank === 4 && batchDim !== -1 && batchDim !== items) {
    fail(
      "SHAPE_MISMATCH",
      `input "${spec.name}" takes ${batchDim} image(s) per request; got ${items} frames`,
    );
  }
  const per = plan.height * plan.width * plan.channels;
  const out = new Float32Array(per * items);
  let item = 0;
  const studies = new Set<string>();
  for (const im of images) {
    if (im.header.studyInstanceUid) studies.add(im.header.studyInstanceUid);
    for (const frame of im.frames) {
      if (im.header.samplesPerPixel === 1) {
        grayFrameInto(frame, im.header, plan, out, item * per);
      } else {
        const srcCh: 1 | 3 = plan.channels === 3 ? 3 : 1;
        const intensity = toIntensity(frame, im.header, spec.dicom, plan.channels);
        resizeInto(intensity, im.header.rows, im.header.columns, srcCh, plan, out, item * per);
      }
      item++;
    }
  }
  if (studies.size > 1)
    throw new SidecarError("BAD_REQUEST", "a multipart request must hold instances of one study");
  return {
    tensor: { datatype: spec.datatype, shape: tensorShape(plan, items), data: convert(out, spec) },
    instances: images.length,
    studyInstanceUid: studies.values().next().value,
  };
}
