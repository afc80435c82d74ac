/**
 * multipart/related (RFC 2387) as DICOMweb STOW-RS sends it: parts separated by `--boundary`, each with
 * headers and a binary body. Bodies are views into the request buffer (no copy).
 */
import { SidecarError } from "../errors.ts";

export interface Part {
  contentType?: string;
  body: Uint8Array;
}

export function boundaryOf(contentType: string): string {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  if (!b) throw new SidecarError("BAD_REQUEST", "multipart/related without a boundary parameter");
  return b;
}

export function splitMultipart(body: Buffer, contentType: string): Part[] {
  const delimiter = Buffer.from(`--${boundaryOf(contentType)}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new SidecarError("BAD_REQUEST", "multipart body does not contain its boundary");
  while (pos >= 0) {
    let start = pos + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing "--boundary--"
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    else if (body[start] === 0x0a) start += 1;
    const next = body.indexOf(delimiter, start);
    if (next < 0) throw new SidecarError("BAD_REQUEST", "multipart body is not closed by its boundary");
    // The CRLF before a delimiter belongs to the delimiter.
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    let headerEnd = body.indexOf("\r\n\r\n", start);
    let sep = 4;
    if (headerEnd < 0 || headerEnd > end) {
      headerEnd = body.indexOf("\n\n", start);
      sep = 2;
    }
    if (headerEnd < 0 || headerEnd > end)
      throw new SidecarError("BAD_REQUEST", "multipart part without a header section");
    const headers = body.toString("latin1", start, headerEnd);
    const ct = /^content-type:\s*([^;\r\n]+)/im.exec(headers)?.[1]?.trim().toLowerCase();
    parts.push({ contentType: ct, body: body.subarray(headerEnd + sep, end) });
    pos = next;
  }
  return parts;
}

/** Builds a multipart/related body (used by tests, benchmarks and clients). */
export function buildMultipart(
  parts: Uint8Array[],
  boundary = "medmlops-boundary",
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      Buffer.from(p.buffer, p.byteOffset, p.byteLength),
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    body: Buffer.concat(chunks),
    contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
  };
}
