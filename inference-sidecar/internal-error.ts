/**
 * What the sidecar logs about an unexpected (5xx) error: its class, its machine code and a stable id — never its
 * message. A library's message can echo the input it choked on (a DICOM value, a tensor, a file name), and input
 * may carry PHI. The id is a hash of the error class and the code locations on its stack (file:line:column only),
 * so the same bug always logs the same id, and an operator can grep for it, without any request content.
 */
import { createHash } from "node:crypto";

export interface InternalErrorLog {
  /** The error's class name (e.g. TypeError, RangeError). */
  type: string;
  /** A machine code the error carries (Node's ERR_* / errno names, our SidecarError codes), if any. */
  code?: string;
  /** sha256 of class + stack locations, 12 hex digits: stable for the same failure site. */
  id: string;
  /** The same for the error's cause, when it wraps one (e.g. an onnxruntime failure inside INFERENCE_FAILED). */
  cause?: InternalErrorLog;
}

/** Only code-like strings: an arbitrary `code` property could itself carry input. */
const CODE_LIKE = /^[A-Z][A-Z0-9_]{1,63}$/;
/** A stack frame's location: `(file:line:col)` or a bare `at file:line:col`; the function name is not used. */
const LOCATION = /\(?((?:file:\/\/|node:|\/|[A-Za-z]:\\)[^()\s]*:\d+:\d+)\)?\s*$/;

export function describeInternalError(err: unknown, depth = 0): InternalErrorLog {
  if (!(err instanceof Error)) return { type: typeof err, id: fingerprint(typeof err, []) };
  const type = safeName(err);
  const code = (err as { code?: unknown }).code;
  const out: InternalErrorLog = {
    type,
    ...(typeof code === "string" && CODE_LIKE.test(code) ? { code } : {}),
    id: fingerprint(type, stackLocations(err)),
  };
  if (err.cause !== undefined && depth < 3) out.cause = describeInternalError(err.cause, depth + 1);
  return out;
}

function safeName(err: Error): string {
  const name = err.constructor?.name || err.name;
  return /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : "Error";
}

/** The frames' locations only: the stack's first lines are the message (maybe several), and never read. */
function stackLocations(err: Error): string[] {
  const messageLines = String(err.message).split("\n").length;
  const lines = (err.stack ?? "").split("\n").slice(messageLines, messageLines + 10);
  const out: string[] = [];
  for (const line of lines) {
    const m = LOCATION.exec(line.trim());
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

function fingerprint(type: string, locations: string[]): string {
  return createHash("sha256")
    .update(type)
    .update("\n")
    .update(locations.join("\n"))
    .digest("hex")
    .slice(0, 12);
}
