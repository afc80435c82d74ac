/**
 * Fetch a model file from pvc://, configmap:// (both mounted into the pod by the MedModel controller) or
 * https://, verify its SHA-256 while streaming, and publish it atomically (temp file + rename) — so the sidecar
 * never sees a partial or unverified model. Refuses to finish otherwise, with a FetchError code.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FetchError } from "./errors.ts";

export interface FetchOptions {
  uri: string;
  sha256: string;
  out: string;
  /** Where pvc://<claim>/… claims are mounted: <pvcRoot>/<claim>/… */
  pvcRoot: string;
  /** Where configmap://<name>/<key> ConfigMaps are mounted: <configMapRoot>/<name>/<key> */
  configMapRoot: string;
  maxBytes: number;
  timeoutMs: number;
  /** Accept plain http:// (tests only; the API only admits https://). */
  allowHttp?: boolean;
}

export interface FetchResult {
  bytes: number;
  sha256: string;
}

/** The local path of a mounted source, refusing any path that escapes its mount. */
export function mountedPath(uri: string, opts: Pick<FetchOptions, "pvcRoot" | "configMapRoot">): string {
  const m = /^(pvc|configmap):\/\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\/(.+)$/.exec(uri);
  if (!m) throw new FetchError("InvalidSource", "expected pvc://<claim>/<path> or configmap://<name>/<key>");
  const [, scheme, ref, , rest] = m as unknown as [string, string, string, string, string];
  const base = resolve(scheme === "pvc" ? opts.pvcRoot : opts.configMapRoot, ref);
  const full = resolve(base, rest);
  if (!full.startsWith(base + sep))
    throw new FetchError("InvalidSource", "the source path leaves its volume");
  return full;
}

async function openSource(opts: FetchOptions, signal: AbortSignal): Promise<Readable> {
  if (/^https:\/\//.test(opts.uri) || (opts.allowHttp && /^http:\/\//.test(opts.uri))) {
    let res: Response;
    try {
      res = await fetch(opts.uri, { signal, redirect: "follow" });
    } catch (e) {
      if (signal.aborted)
        throw new FetchError("FetchTimeout", `no complete response within ${opts.timeoutMs} ms`);
      throw new FetchError("FetchFailed", `request failed: ${(e as Error).message}`);
    }
    if (!res.ok || !res.body) throw new FetchError("FetchFailed", `server answered HTTP ${res.status}`);
    const length = Number(res.headers.get("content-length") ?? Number.NaN);
    if (Number.isFinite(length) && length > opts.maxBytes) {
      await res.body.cancel().catch(() => {});
      throw new FetchError("SourceTooLarge", `${length} bytes exceed the limit of ${opts.maxBytes}`);
    }
    return Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>, { signal });
  }
  if (/^(pvc|configmap):\/\//.test(opts.uri)) {
    const path = mountedPath(opts.uri, opts);
    try {
      const s = await stat(path);
      if (!s.isFile()) throw new FetchError("SourceNotFound", `${basename(path)} is not a file`);
      if (s.size > opts.maxBytes) {
        throw new FetchError("SourceTooLarge", `${s.size} bytes exceed the limit of ${opts.maxBytes}`);
      }
    } catch (e) {
      if (e instanceof FetchError) throw e;
      throw new FetchError("SourceNotFound", `no file at the source path (is the volume mounted?)`);
    }
    return createReadStream(path, { signal });
  }
  throw new FetchError("InvalidSource", "the URI scheme must be pvc://, configmap:// or https://");
}

export async function fetchModel(opts: FetchOptions): Promise<FetchResult> {
  if (!/^[0-9a-f]{64}$/.test(opts.sha256))
    throw new FetchError("InvalidSource", "--sha256 must be 64 lowercase hex");
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const hash = createHash("sha256");
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > opts.maxBytes) {
        done(new FetchError("SourceTooLarge", `more than ${opts.maxBytes} bytes`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const source = await openSource(opts, signal);
  await mkdir(dirname(opts.out), { recursive: true });
  const temp = join(dirname(opts.out), `.${basename(opts.out)}.${process.pid}.partial`);
  try {
    try {
      await pipeline(source, meter, createWriteStream(temp, { flags: "w", mode: 0o444 }));
    } catch (e) {
      if (e instanceof FetchError) throw e;
      if (signal.aborted) throw new FetchError("FetchTimeout", `not complete within ${opts.timeoutMs} ms`);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOSPC" || code === "EACCES" || code === "EROFS") {
        throw new FetchError("WriteFailed", `cannot write the model (${code})`);
      }
      throw new FetchError("FetchFailed", `transfer failed: ${(e as Error).message}`);
    }
    const digest = hash.digest("hex");
    if (digest !== opts.sha256) {
      throw new FetchError(
        "DigestMismatch",
        `sha256 of the ${bytes} bytes is ${digest}, expected ${opts.sha256}`,
      );
    }
    const fh = await open(temp, "r");
    await fh.sync().finally(() => fh.close());
    await rename(temp, opts.out);
    return { bytes, sha256: digest };
  } finally {
    await rm(temp, { force: true });
  }
}
