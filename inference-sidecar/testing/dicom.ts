/**
 * Synthetic DICOM instances written with dcmjs (an independent writer from the dicom-parser reader the
 * sidecar uses): a CT-like image with known stored values, in native little/big endian, implicit VR, or RLE.
 * Identifiers are obviously fake; tests check that none of them leaks into answers or logs.
 */
import { createRequire } from "node:module";
import { type ImageHeader, TS } from "../dicom/pixels.ts";
import { encodeRleFrame } from "../dicom/rle.ts";

// dcmjs ships no types; the few calls used here are typed locally (an ambient `declare module` could clash
// with another room's).
interface Dcmjs {
  data: {
    DicomDict: new (meta: unknown) => { dict: unknown; write(): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(ds: Record<string, unknown>): unknown };
  };
  log?: { setLevel?: (level: string) => void };
}
const dcmjs = createRequire(import.meta.url)("dcmjs") as Dcmjs;
const { DicomDict, DicomMetaDictionary } = dcmjs.data;
dcmjs.log?.setLevel?.("error");

export const FAKE_PATIENT = { PatientName: "Doe^Jane^Synthetic", PatientID: "PHI-123456" };

export interface SyntheticImage {
  rows: number;
  columns: number;
  frames?: number;
  /** Stored values (signed 16-bit), rows × columns × frames. */
  pixels: Int16Array;
  studyInstanceUid?: string;
  transferSyntax?: string;
  rescaleSlope?: number;
  rescaleIntercept?: number;
  windowCenter?: number;
  windowWidth?: number;
  photometric?: "MONOCHROME1" | "MONOCHROME2";
  /** More attributes by DICOM keyword (e.g. Manufacturer, KVP). */
  extra?: Record<string, unknown>;
  /** Leave Patient ID out. */
  noPatientId?: boolean;
}

/** A smooth CT-like phantom: air outside a disc of soft tissue with a brighter core, values in stored units. */
export function ctPhantom(rows: number, columns: number, seed = 1): Int16Array {
  const out = new Int16Array(rows * columns);
  const cy = rows / 2;
  const cx = columns / 2;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const r = Math.hypot((y - cy) / rows, (x - cx) / columns);
      const v =
        r > 0.45 ? 24 : r > 0.2 ? 1064 + ((x * 7 + y * 13 + seed) % 40) : 1400 + ((x + y * seed) % 100);
      out[y * columns + x] = v;
    }
  }
  return out;
}

export function writeDicom(img: SyntheticImage): Uint8Array {
  const ts = img.transferSyntax ?? TS.explicitLE;
  const frames = img.frames ?? 1;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
    MediaStorageSOPInstanceUID: "2.25.1234567890",
    TransferSyntaxUID: ts,
    ImplementationClassUID: "2.25.42",
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  let pixelData: ArrayBuffer[];
  const perFrame = img.rows * img.columns;
  if (ts === TS.rle) {
    pixelData = Array.from({ length: frames }, (_, f) => {
      const words = new Uint16Array(img.pixels.buffer, img.pixels.byteOffset + f * perFrame * 2, perFrame);
      return encodeRleFrame(words, perFrame, 1, 16).slice().buffer;
    });
  } else if (ts === TS.explicitBE) {
    const copy = Buffer.from(new Uint8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength));
    pixelData = [Uint8Array.from(copy.swap16()).buffer];
  } else {
    pixelData = [img.pixels.slice().buffer];
  }
  const { PatientID, ...patient } = FAKE_PATIENT;
  const ds: Record<string, unknown> = {
    ...patient,
    ...(img.noPatientId ? {} : { PatientID }),
    ...img.extra,
    SOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
    SOPInstanceUID: "2.25.1234567890",
    StudyInstanceUID: img.studyInstanceUid ?? "2.25.99887766554433221100",
    SeriesInstanceUID: "2.25.5555",
    Modality: "CT",
    Rows: img.rows,
    Columns: img.columns,
    SamplesPerPixel: 1,
    PhotometricInterpretation: img.photometric ?? "MONOCHROME2",
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 1,
    RescaleSlope: String(img.rescaleSlope ?? 1),
    RescaleIntercept: String(img.rescaleIntercept ?? -1024),
    ...(frames > 1 ? { NumberOfFrames: String(frames) } : {}),
    ...(img.windowCenter !== undefined
      ? { WindowCenter: String(img.windowCenter), WindowWidth: String(img.windowWidth ?? 400) }
      : {}),
    PixelData: pixelData,
    _vrMap: { PixelData: ts === TS.rle ? "OB" : "OW" },
  };
  dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  return new Uint8Array(dict.write());
}

/** A decoded 16-bit signed grayscale image header for preprocessing tests: no rescale, no window. */
export function imageHeader(over: Partial<ImageHeader> = {}): ImageHeader {
  return {
    transferSyntax: "1.2.840.10008.1.2.1",
    rows: 2,
    columns: 2,
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored: 16,
    pixelRepresentation: 1,
    planarConfiguration: 0,
    photometric: "MONOCHROME2",
    frames: 1,
    rescaleSlope: 1,
    rescaleIntercept: 0,
    ...over,
  };
}
