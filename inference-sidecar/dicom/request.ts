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
import {
  DEFAULT_MAX_DECODED_BYTES,
  type DecodeLimits,
  declaredDecodedBytes,
  decodeFrames,
  type ImageHeader,
  type OpenedImage,
  openImage,
} from "./pixels.ts";
import { grayFrameInto, layoutAxes, planFor, resizeInto, tensorShape, toIntensity } from "./preprocess.ts";

export interface DicomCase {
  tensor: Tensor;
  instances: number;
  /** For the pseudonymous case id only; never logged or returned. */
  studyInstanceUid?: string;
  /** The first instance's parsed header: the monitor's non-PHI metadata and patient pseudonym only. */
  dataSet?: OpenedImage["ds"];
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

/**
 * Bounds on one DICOM request's work, checked from the headers before any frame is decoded: the decoded pixel
 * data all its instances declare, and the model input it would become (frames × target size). A 2.5 KB file of
 * 1,000 1×1 frames against a 128×128 model would otherwise become a 190 MB tensor and a batch of 1,000 runs.
 */
export interface DicomLimits extends DecodeLimits {
  /** The largest model input (float32 bytes: frames × height × width × channels × 4) one request may build. */
  maxInputBytes: number;
}
export const DEFAULT_DICOM_LIMITS: DicomLimits = {
  maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES,
  maxInputBytes: 32 * 1024 * 1024,
};

/**
 * The modality LUT (RescaleSlope, RescaleIntercept) must map every stored value to a finite number: a slope of
 * 1e308 turns the image into infinities and NaNs, which no window or model can make sense of.
 */
function checkModalityLut(h: ImageHeader, pre: DicomPreprocessing): void {
  if (!pre.rescale.fromHeader) return;
  const extreme = Math.abs(h.rescaleSlope) * 2 ** h.bitsStored + Math.abs(h.rescaleIntercept);
  if (!Number.isFinite(extreme) || extreme > 3.4e38)
    fail(
      "NON_FINITE_INPUT",
      "the modality LUT (RescaleSlope/RescaleIntercept) maps stored values beyond the finite float range; a corrupt image cannot be assessed",
    );
}

export async function dicomRequestToTensor(
  body: Buffer,
  contentType: string,
  spec: InputSpec & { dicom: DicomPreprocessing },
  limits: DicomLimits = DEFAULT_DICOM_LIMITS,
): Promise<DicomCase> {
  return dicomPartsToTensor(splitDicomBody(body, contentType), spec, limits);
}

export async function dicomPartsToTensor(
  parts: Uint8Array[],
  spec: InputSpec & { dicom: DicomPreprocessing },
  limits: DicomLimits = DEFAULT_DICOM_LIMITS,
): Promise<DicomCase> {
  const opened: OpenedImage[] = [];
  let decoded = 0;
  for (const p of parts) {
    const im = await openImage(p, limits);
    decoded += declaredDecodedBytes(im.header);
    if (decoded > limits.maxDecodedBytes)
      fail(
        "INPUT_TOO_LARGE",
        `the instances declare more than ${limits.maxDecodedBytes} bytes of decoded pixel data in all`,
      );
    checkModalityLut(im.header, spec.dicom);
    opened.push(im);
  }
  const first = opened[0] as OpenedImage;
  const plan = planFor(spec, spec.dicom, first.header);
  const ax = layoutAxes(plan.layout);
  if (spec.shape.length !== ax.rank)
    fail(
      "DICOM_NOT_CONFIGURED",
      `input "${spec.name}" has rank ${spec.shape.length}; layout ${plan.layout} needs rank ${ax.rank}`,
    );
  const items = opened.reduce((a, im) => a + im.header.frames, 0);
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
  if (per * items * 4 > limits.maxInputBytes)
    fail(
      "INPUT_TOO_LARGE",
      `${items} frame(s) at ${plan.height}×${plan.width}×${plan.channels} make a ${per * items * 4}-byte model input; the limit is ${limits.maxInputBytes} (--max-input-mb)`,
    );
  const out = new Float32Array(per * items);
  let item = 0;
  const studies = new Set<string>();
  for (const o of opened) {
    const im = await decodeFrames(o);
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
    instances: opened.length,
    studyInstanceUid: studies.values().next().value,
    dataSet: first.ds,
  };
}
