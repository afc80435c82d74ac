/**
 * Reference profiles for drift. A version with `referenceProfile` ({uri, sha256}) gets that document, fetched by
 * the operator and verified against its SHA-256 before the monitor sees it — as fetch-model does for model
 * files: a wrong digest is refused, never used. Without one, the monitor freezes a profile from the version's
 * first N served records (FIRST_RECORDS_DEFAULT, `--reference-first-records`), and the Ready condition says so.
 *
 * The operator reads https:// itself and configmap://<name>/<key> through the API server; pvc:// is only
 * mounted into pods, so the operator cannot read it (planned: a fetch Job) and says so in the condition.
 */
import { createHash } from "node:crypto";
import type { Client } from "../runtime/index.ts";

export const FIRST_RECORDS_DEFAULT = 500;
export const MAX_PROFILE_BYTES = 16 * 1024 * 1024;

export class ReferenceProfileError extends Error {
  constructor(
    readonly code: "DigestMismatch" | "FetchFailed" | "Unsupported" | "Invalid",
    message: string,
  ) {
    super(message);
  }
}

export interface Artifact {
  uri: string;
  sha256: string;
}

export interface FetchDeps {
  client: Client;
  namespace: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Tests only: accept http:// (the API admits https:// only). */
  allowHttp?: boolean;
}

async function bytesOf(a: Artifact, d: FetchDeps): Promise<Buffer> {
  if (/^https:\/\//.test(a.uri) || (d.allowHttp && /^http:\/\//.test(a.uri))) {
    let res: Response;
    try {
      res = await (d.fetch ?? fetch)(a.uri, { signal: d.signal ?? AbortSignal.timeout(30_000) });
    } catch (e) {
      throw new ReferenceProfileError("FetchFailed", `request failed: ${(e as Error).message}`);
    }
    if (!res.ok) throw new ReferenceProfileError("FetchFailed", `server answered HTTP ${res.status}`);
    const buf = Buffer.from(await res.arrayBuffer());
    if (buf.length > MAX_PROFILE_BYTES)
      throw new ReferenceProfileError("Invalid", "profile larger than 16 MiB");
    return buf;
  }
  const cm = /^configmap:\/\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\/(.+)$/.exec(a.uri);
  if (cm) {
    const obj = await d.client.get<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
      { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps" },
      { namespace: d.namespace, name: cm[1] ?? "" },
    );
    const key = cm[3] ?? "";
    const text = obj?.data?.[key];
    if (text !== undefined) return Buffer.from(text, "utf8");
    const bin = obj?.binaryData?.[key];
    if (bin !== undefined) return Buffer.from(bin, "base64");
    throw new ReferenceProfileError("FetchFailed", `ConfigMap ${cm[1]} has no key ${key}`);
  }
  throw new ReferenceProfileError(
    "Unsupported",
    "the operator reads https:// and configmap:// reference profiles (pvc:// is planned)",
  );
}

/** The profile document, after its SHA-256 matched. */
export async function fetchReferenceProfile(a: Artifact, d: FetchDeps): Promise<Record<string, unknown>> {
  const buf = await bytesOf(a, d);
  const digest = createHash("sha256").update(buf).digest("hex");
  if (digest !== a.sha256)
    throw new ReferenceProfileError(
      "DigestMismatch",
      `sha256 ${digest.slice(0, 12)}… does not match the spec`,
    );
  try {
    const doc = JSON.parse(buf.toString("utf8")) as unknown;
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("not an object");
    return doc as Record<string, unknown>;
  } catch {
    throw new ReferenceProfileError("Invalid", "the profile is not a JSON object");
  }
}
