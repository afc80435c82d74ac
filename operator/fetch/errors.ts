/**
 * Why fetch-model refused to finish. The code is stable: the init container writes {reason, message} as its
 * termination message and the MedModel controller shows it as the version's Failed phase.
 */
export type FetchErrorCode =
  | "InvalidSource"
  | "SourceNotFound"
  | "FetchFailed"
  | "FetchTimeout"
  | "SourceTooLarge"
  | "DigestMismatch"
  | "WriteFailed";

export class FetchError extends Error {
  constructor(
    readonly code: FetchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "FetchError";
  }
}

export interface TerminationMessage {
  reason: string;
  message: string;
}

/** Kubernetes keeps at most 4096 bytes of a termination message. */
export function formatTerminationMessage(code: string, message: string): string {
  const body = JSON.stringify({ reason: code, message: message.slice(0, 1000) });
  return body.length <= 4096 ? body : JSON.stringify({ reason: code, message: "see container log" });
}

/** The reason/message an init container left, whether it is ours (JSON) or anything else (plain text). */
export function parseTerminationMessage(text: string | undefined): TerminationMessage | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && typeof (v as { reason?: unknown }).reason === "string") {
      const { reason, message } = v as { reason: string; message?: unknown };
      if (/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(reason)) {
        return { reason, message: typeof message === "string" ? message.slice(0, 1000) : "" };
      }
    }
  } catch {
    // not ours: fall through
  }
  return { reason: "FetchFailed", message: text.trim().slice(-500) };
}
