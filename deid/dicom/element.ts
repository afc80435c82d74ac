/** The in-memory element tree: values are views into the input buffer (no copies) until something changes them. */

export interface Element {
  /** (group << 16 | element) as an unsigned 32-bit number. */
  tag: number;
  /** Two-letter VR: explicit from the file, or from the dictionary for implicit VR ("UN" when unknown). */
  vr: string;
  /** Raw value bytes in the data set's byte order; empty for sequences and encapsulated data. */
  value: Uint8Array;
  /** Items of a sequence (SQ, or UN holding an implicit-VR sequence). */
  items?: Element[][];
  /** Fragments of encapsulated data (undefined-length OB/OW, i.e. compressed Pixel Data), copied byte-exact. */
  fragments?: Uint8Array[];
}

export interface TransferSyntax {
  uid: string;
  explicit: boolean;
  littleEndian: boolean;
  deflated: boolean;
  /** Pixel data is encapsulated (compressed or encapsulated uncompressed). */
  encapsulated: boolean;
}

const EXPLICIT_LE = { explicit: true, littleEndian: true, deflated: false, encapsulated: false };

/** Transfer syntaxes we read and write. Anything else is quarantined rather than guessed at. */
export function transferSyntax(uid: string): TransferSyntax | undefined {
  switch (uid) {
    case "1.2.840.10008.1.2":
      return { uid, explicit: false, littleEndian: true, deflated: false, encapsulated: false };
    case "1.2.840.10008.1.2.1":
      return { uid, ...EXPLICIT_LE };
    case "1.2.840.10008.1.2.1.99":
      return { uid, ...EXPLICIT_LE, deflated: true };
    case "1.2.840.10008.1.2.2":
      return { uid, explicit: true, littleEndian: false, deflated: false, encapsulated: false };
    case "1.2.840.10008.1.2.1.98": // Encapsulated Uncompressed Explicit VR Little Endian
    case "1.2.840.10008.1.2.5": // RLE Lossless
      return { uid, ...EXPLICIT_LE, encapsulated: true };
    default:
      // JPEG family, JPEG-LS, JPEG 2000, HTJ2K, JPIP, MPEG-2/4, HEVC: all 1.2.840.10008.1.2.4.<n>.
      if (/^1\.2\.840\.10008\.1\.2\.4\.[1-9][0-9]{0,2}$/.test(uid))
        return { uid, ...EXPLICIT_LE, encapsulated: true };
      return undefined;
  }
}

export const TAG = {
  FileMetaGroupLength: 0x00020000,
  FileMetaVersion: 0x00020001,
  MediaStorageSOPClassUID: 0x00020002,
  MediaStorageSOPInstanceUID: 0x00020003,
  TransferSyntaxUID: 0x00020010,
  ImplementationClassUID: 0x00020012,
  ImplementationVersionName: 0x00020013,
  SpecificCharacterSet: 0x00080005,
  SOPClassUID: 0x00080016,
  SOPInstanceUID: 0x00080018,
  StudyDate: 0x00080020,
  AccessionNumber: 0x00080050,
  Modality: 0x00080060,
  ConversionType: 0x00080064,
  Manufacturer: 0x00080070,
  ManufacturerModelName: 0x00081090,
  PatientName: 0x00100010,
  PatientID: 0x00100020,
  IssuerOfPatientID: 0x00100021,
  PatientBirthDate: 0x00100030,
  PatientIdentityRemoved: 0x00120062,
  DeidentificationMethod: 0x00120063,
  DeidentificationMethodCodeSequence: 0x00120064,
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  StudyID: 0x00200010,
  SamplesPerPixel: 0x00280002,
  PhotometricInterpretation: 0x00280004,
  PlanarConfiguration: 0x00280006,
  NumberOfFrames: 0x00280008,
  Rows: 0x00280010,
  Columns: 0x00280011,
  BitsAllocated: 0x00280100,
  BitsStored: 0x00280101,
  LossyImageCompression: 0x00282110,
  BurnedInAnnotation: 0x00280301,
  RecognizableVisualFeatures: 0x00280302,
  LongitudinalTemporalInformationModified: 0x00280303,
  CodeValue: 0x00080100,
  CodingSchemeDesignator: 0x00080102,
  CodeMeaning: 0x00080104,
  PixelData: 0x7fe00010,
  Item: 0xfffee000,
  ItemDelimitation: 0xfffee00d,
  SequenceDelimitation: 0xfffee0dd,
} as const;

/** Finds a top-level element by tag (data sets are small; a linear scan beats building an index). */
export function find(ds: readonly Element[], tag: number): Element | undefined {
  for (const e of ds) if (e.tag === tag) return e;
  return undefined;
}
