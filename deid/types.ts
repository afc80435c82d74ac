/**
 * Public types of the de-identification library. The inference sidecar and the CLI both call
 * `deidentify(input, options)`; keep these shapes stable.
 */
import { DeidOptionSchema } from "../crds/index.ts";

/** Options of PS3.15 Table E.1-1 (one per option column) plus the pixel and graphics cleaning options. */
/** The API (crds/) names them; the engine implements exactly that list. */
export const DEID_OPTION_NAMES = DeidOptionSchema.options;
export type DeidOptionName = (typeof DEID_OPTION_NAMES)[number];

/** A per-hospital secret for keyed pseudonyms. `version` is recorded in DeidentificationMethod, never the secret. */
export interface DeidKey {
  readonly version: string;
  readonly secret: Uint8Array;
}

/** A rectangle (in pixels, origin top-left) to blank in every frame. */
export interface MaskRectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Burned-in text regions of one kind of device. A mask applies when Rows/Columns match and the given
 * manufacturer / model (if set) equal the image's (0008,0070) / (0008,1090), compared case-insensitively.
 */
export interface PixelMask {
  manufacturer?: string;
  model?: string;
  rows: number;
  columns: number;
  rectangles: MaskRectangle[];
}

export interface DeidOptions {
  key: DeidKey;
  /** Options on top of the Basic profile (none: Basic profile only). */
  options?: DeidOptionName[];
  /** Used with CleanPixelData. */
  pixelMasks?: PixelMask[];
  /**
   * The result of the burned-in text check (deid/burned-in/), for an image that would otherwise be quarantined
   * as BURNED_IN_ANNOTATION: no text found → released with Burned In Annotation NO; redacted → these native
   * pixel data bytes replace the original (Clean Pixel Data, 113101). `decoded` says the bytes are decoded
   * samples of compressed or YBR pixel data (little endian, interleaved, RGB when 3 samples per pixel): the
   * instance is then written as Explicit VR Little Endian with its photometric interpretation updated.
   */
  pixelCheck?:
    | { kind: "no-text" }
    | {
        kind: "redacted";
        pixelData: Uint8Array;
        decoded?: DecodedPixels;
        /** The pixel data was checked after a matching mask and already holds the mask's blackout. */
        afterMask?: boolean;
      };
}

/** How redacted pixel data that had to be decoded is laid out (see DeidOptions.pixelCheck). */
export interface DecodedPixels {
  photometric: string;
  bitsAllocated: 8 | 16;
  /** The source transfer syntax was lossy: Lossy Image Compression stays "01" (PS3.3 C.7.6.1.1.5). */
  lossy: boolean;
}

/** Keyed pseudonyms of the de-identified instance (no PHI: HMACs and remapped UIDs only). */
export interface DeidPseudonyms {
  /** `pn:` + 64 hex = HMAC-SHA256(key, Patient ID): the form ConsentRecord.subject.pseudonym accepts. */
  patient: string;
  /** False when the input had no Patient ID and `patient` was derived from other patient attributes. */
  patientFromId: boolean;
  study?: string;
  series?: string;
  sop?: string;
}

export type DeidOutcome =
  | {
      ok: true;
      output: Uint8Array;
      pseudonyms: DeidPseudonyms;
      warnings: string[];
      /**
       * A manufacturer mask was applied to an image the burned-in rule suspects: `deidentifyChecked()` then runs
       * the text check on the masked pixels too (masks first, detection after them).
       */
      maskedSuspect?: true;
    }
  | { ok: false; reason: string; code: QuarantineCode };

/**
 * Stable quarantine codes. Reasons that go with them never contain values from the file (no PHI): only
 * tags, transfer syntax UIDs, counts and offsets.
 */
export type QuarantineCode =
  | "NOT_DICOM"
  | "MALFORMED"
  | "TRUNCATED"
  | "UNSUPPORTED_TRANSFER_SYNTAX"
  | "UNSUPPORTED_CHARACTER_SET"
  | "BURNED_IN_ANNOTATION"
  | "PIXEL_MASK_NOT_APPLICABLE"
  | "MISSING_REQUIRED_UID"
  | "UNSUPPORTED_OBJECT"
  | "RECOGNIZABLE_VISUAL_FEATURES"
  | "INVALID_OPTIONS"
  | "RESIDUAL_IDENTIFIER"
  | "OUTPUT_SANITY"
  | "INTERNAL_ERROR";
