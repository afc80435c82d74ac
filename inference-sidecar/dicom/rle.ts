/**
 * DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of up to 15 segment offsets, each segment a
 * PackBits-coded byte plane (most significant byte of each sample first, one plane per sample and byte).
 */

/** Decodes one PackBits segment into exactly `length` bytes (missing bytes stay 0, extra are dropped). */
export function decodePackBits(src: Uint8Array, start: number, end: number, out: Uint8Array): void {
  let i = start;
  let o = 0;
  const length = out.length;
  while (i < end && o < length) {
    const n = ((src[i++] as number) << 24) >> 24;
    if (n >= 0) {
      const count = Math.min(n + 1, length - o, end - i);
      out.set(src.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n !== -128) {
      const count = Math.min(1 - n, length - o);
      out.fill(src[i++] as number, o, o + count);
      o += count;
    }
  }
}

/**
 * Decodes an RLE frame into interleaved samples: Uint8Array for 8-bit, Uint16Array for 16-bit, Uint32Array
 * for 32-bit (signedness is applied later from PixelRepresentation).
 */
export function decodeRleFrame(
  frame: Uint8Array,
  rows: number,
  cols: number,
  samples: number,
  bitsAllocated: number,
): Uint8Array | Uint16Array | Uint32Array {
  if (frame.length < 64) throw new Error("RLE frame shorter than its 64-byte header");
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  const bytes = bitsAllocated / 8;
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 4)
    throw new Error(`RLE with ${bitsAllocated} bits allocated is not supported`);
  if (segments !== samples * bytes)
    throw new Error(`RLE frame has ${segments} segments, expected ${samples * bytes}`);
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(view.getUint32(4 + 4 * s, true));
  const pixels = rows * cols;
  const out =
    bytes === 1
      ? new Uint8Array(pixels * samples)
      : bytes === 2
        ? new Uint16Array(pixels * samples)
        : new Uint32Array(pixels * samples);
  const plane = new Uint8Array(pixels);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s] as number;
    const end = s + 1 < segments ? (offsets[s + 1] as number) : frame.length;
    if (start < 64 || start > frame.length || end < start)
      throw new Error(`RLE segment ${s} offset out of range`);
    plane.fill(0);
    decodePackBits(frame, start, end, plane);
    const sample = Math.floor(s / bytes);
    const shift = 8 * (bytes - 1 - (s % bytes));
    for (let p = 0; p < pixels; p++) {
      const k = p * samples + sample;
      out[k] = ((out[k] as number) + (plane[p] as number) * 2 ** shift) >>> 0;
    }
  }
  return out;
}

/** Encodes one byte plane with PackBits (used to build test files; simple, not optimal). */
export function encodePackBits(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < src.length) {
    let run = 1;
    while (i + run < src.length && run < 128 && src[i + run] === src[i]) run++;
    if (run >= 2) {
      out.push((1 - run) & 0xff, src[i] as number);
      i += run;
      continue;
    }
    const start = i;
    while (i < src.length && i - start < 128 && !(i + 1 < src.length && src[i + 1] === src[i])) i++;
    if (i === start) i++;
    out.push(i - start - 1, ...src.subarray(start, i));
  }
  if (out.length % 2) out.push(0x80);
  return Uint8Array.from(out);
}

/** Encodes interleaved samples as one RLE frame (header + segments). */
export function encodeRleFrame(
  data: ArrayLike<number>,
  pixels: number,
  samples: number,
  bitsAllocated: number,
): Uint8Array {
  const bytes = bitsAllocated / 8;
  const segments: Uint8Array[] = [];
  for (let s = 0; s < samples; s++) {
    for (let b = 0; b < bytes; b++) {
      const plane = new Uint8Array(pixels);
      const shift = 8 * (bytes - 1 - b);
      for (let p = 0; p < pixels; p++)
        plane[p] = Math.floor(((data[p * samples + s] as number) >>> 0) / 2 ** shift) & 0xff;
      segments.push(encodePackBits(plane));
    }
  }
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, segments.length, true);
  let off = 64;
  segments.forEach((seg, k) => {
    view.setUint32(4 + 4 * k, off, true);
    off += seg.length;
  });
  const out = new Uint8Array(off);
  out.set(header);
  off = 64;
  for (const seg of segments) {
    out.set(seg, off);
    off += seg.length;
  }
  return out;
}
