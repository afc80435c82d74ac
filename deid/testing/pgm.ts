/** Binary PGM (P5, 8-bit) reading and writing for the burned-in-text corpus and the Tesseract oracle. */
export interface Gray {
  width: number;
  height: number;
  pixels: Uint8Array;
}

export function readPgm(buf: Uint8Array): Gray {
  const text = Buffer.from(buf.subarray(0, 64)).toString("latin1");
  const m = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(text);
  if (!m) throw new Error("not a binary 8-bit PGM");
  const width = Number(m[1]);
  const height = Number(m[2]);
  const start = m[0].length;
  return { width, height, pixels: buf.subarray(start, start + width * height) };
}

export function writePgm(g: Gray): Uint8Array {
  const header = Buffer.from(`P5\n${g.width} ${g.height}\n255\n`, "latin1");
  return new Uint8Array(Buffer.concat([header, Buffer.from(g.pixels)]));
}
