/**
 * Reading a request body into memory the sidecar owns. Fastify's buffer parser gathers chunks and
 * concatenates them; a binary tensor then usually starts at an odd offset (after a JSON header of any
 * length) and must be copied again to be viewed as floats. Here the body goes straight into one ArrayBuffer
 * of its own, padded so the first binary tensor starts 8-byte aligned: tensors are views, not copies, and the
 * buffer may be handed to the inference worker without cloning (see owned-buffers.ts). One copy, socket to
 * tensor.
 */
import type { Readable } from "node:stream";
import { SidecarError } from "./errors.ts";
import { ownedPool } from "./owned-buffers.ts";

export interface BodyOptions {
  /** Declared Content-Length, when the client sent one. */
  contentLength?: number;
  /** Largest accepted body, bytes. */
  limit: number;
  /** Offset in the body that should land 8-byte aligned (Inference-Header-Content-Length). */
  alignAt?: number;
  /**
   * Called once, with the whole (still filling) body buffer, as soon as its first `alignAt` bytes — the JSON
   * header of a binary request — have arrived; only when the length is known up front. Lets the header be
   * parsed while the tensors are still on their way.
   */
  onHeader?: (body: Buffer) => void;
}

const tooLarge = (limit: number) =>
  new SidecarError("BODY_TOO_LARGE", `request body exceeds the limit of ${limit} bytes`);

/** Bytes of padding before the body so that `alignAt` falls on an 8-byte boundary. */
export function alignmentPad(alignAt: number | undefined): number {
  if (alignAt === undefined || !Number.isSafeInteger(alignAt) || alignAt < 0) return 0;
  return (8 - (alignAt % 8)) % 8;
}

/**
 * An owned body buffer of `length` bytes whose `alignAt` offset is 8-byte aligned, usually recycled (see
 * owned-buffers.ts): its old contents are written over before anyone reads them (readBody only returns a
 * buffer it filled completely); never from Node's shared slab, so its memory may be transferred.
 */
export function allocateBody(length: number, alignAt?: number): Buffer {
  const pad = alignmentPad(alignAt);
  return Buffer.from(ownedPool.take(pad + length), pad, length);
}

export function readBody(stream: Readable, opts: BodyOptions): Promise<Buffer> {
  const { contentLength, limit } = opts;
  if (contentLength !== undefined && contentLength > limit) {
    stream.resume(); // drain, so the connection can answer
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const known = contentLength !== undefined;
    let body = known ? allocateBody(contentLength, opts.alignAt) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (err: Error | undefined, value?: Buffer) => {
      if (settled) return;
      settled = true;
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("aborted", onAborted);
      if (err) {
        stream.resume();
        if (body) ownedPool.recycle(body.buffer);
        reject(err);
      } else resolve(value as Buffer);
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > (known ? (contentLength as number) : limit)) {
        finish(
          known
            ? new SidecarError(
                "BAD_REQUEST",
                `request body is longer than its Content-Length ${contentLength}`,
              )
            : tooLarge(limit),
        );
        return;
      }
      if (body) chunk.copy(body, received);
      else chunks.push(chunk);
      const before = received;
      received += chunk.length;
      const at = opts.alignAt;
      if (body && opts.onHeader && at !== undefined && before < at && received >= at) opts.onHeader(body);
    };
    const onEnd = () => {
      if (known) {
        if (received !== contentLength)
          finish(
            new SidecarError(
              "BAD_REQUEST",
              `request body has ${received} bytes, its Content-Length says ${contentLength}`,
            ),
          );
        else finish(undefined, body);
        return;
      }
      // Chunked transfer: the length is known only now; one copy into an owned, aligned buffer.
      body = allocateBody(received, opts.alignAt);
      let off = 0;
      for (const c of chunks) {
        c.copy(body, off);
        off += c.length;
      }
      finish(undefined, body);
    };
    const onError = (e: Error) => finish(new SidecarError("BAD_REQUEST", `request body: ${e.message}`));
    const onAborted = () => finish(new SidecarError("BAD_REQUEST", "request aborted while sending its body"));
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("aborted", onAborted);
  });
}
