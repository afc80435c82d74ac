/**
 * Every error the sidecar answers with: an HTTP status, a stable machine code and a message that names the
 * problem without echoing request content (which may carry PHI).
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_BINARY: 400,
  UNKNOWN_INPUT: 400,
  MISSING_INPUT: 400,
  DUPLICATE_INPUT: 400,
  UNKNOWN_OUTPUT: 400,
  DUPLICATE_OUTPUT: 400,
  NESTING_TOO_DEEP: 400,
  DATATYPE_MISMATCH: 400,
  SHAPE_MISMATCH: 400,
  DATA_SIZE_MISMATCH: 400,
  INVALID_DATA: 400,
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  BODY_TOO_LARGE: 413,
  INPUT_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_TRANSFER_SYNTAX: 415,
  INVALID_DICOM: 422,
  DICOM_NOT_CONFIGURED: 422,
  UNSUPPORTED_PIXEL_DATA: 422,
  DEID_FAILED: 422,
  INFLATED_TOO_LARGE: 422,
  NON_FINITE_INPUT: 422,
  NON_FINITE_OUTPUT: 422,
  NOT_READY: 503,
  SUSPENDED: 503,
  OVERLOADED: 503,
  DEID_BUSY: 503,
  TIMEOUT: 503,
  INFERENCE_FAILED: 500,
  INTERNAL: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export class SidecarError extends Error {
  override name = "SidecarError";
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = ERROR_STATUS[code];
  }
  toJSON(): { error: string; code: ErrorCode } {
    return { error: this.message, code: this.code };
  }
}

export function fail(code: ErrorCode, message: string): never {
  throw new SidecarError(code, message);
}
