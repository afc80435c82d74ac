/** The inference sidecar's public surface for other rooms (operator, monitor, bench). */
export { main as sidecarMain, USAGE as SIDECAR_USAGE } from "./cli.ts";
export { ControlFile, type ControlState } from "./control.ts";
export { Datatype, OIP_DATATYPES } from "./datatypes.ts";
export { buildMultipart } from "./dicom/multipart.ts";
export { ERROR_STATUS, type ErrorCode, SidecarError } from "./errors.ts";
export { MODEL_STATES } from "./metrics.ts";
export { loadModel, sha256Hex } from "./model.ts";
export { decodeInferResponse, encodeBinaryRequest } from "./protocol.ts";
export { SERVER_NAME, SUSPENDED_MESSAGE, Sidecar } from "./server.ts";
export {
  DicomPreprocessing,
  deriveSignature,
  InputSpec,
  OutputSpec,
  Signature,
  type SignatureInput,
} from "./signature.ts";
