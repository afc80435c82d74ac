import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { alignmentPad, readBody } from "./body.ts";
import { isOwned } from "./owned-buffers.ts";

function streamOf(chunks: Buffer[]): PassThrough {
  const s = new PassThrough();
  queueMicrotask(() => {
    for (const c of chunks) s.write(c);
    s.end();
  });
  return s;
}

const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 7) & 255));

describe("readBody", () => {
  it.each([0, 1, 5, 8, 174, 175])("puts offset %i of the body on an 8-byte boundary", async (alignAt) => {
    const data = bytes(300);
    const body = await readBody(streamOf([data.subarray(0, 100), data.subarray(100)]), {
      contentLength: 300,
      limit: 1000,
      alignAt,
    });
    expect(body.equals(data)).toBe(true);
    expect((body.byteOffset + alignAt) % 8).toBe(0);
    expect(isOwned(body.buffer)).toBe(true);
  });

  it("reads a chunked body (no Content-Length) into an owned, aligned buffer", async () => {
    const data = bytes(1000, 3);
    const body = await readBody(
      streamOf([data.subarray(0, 333), data.subarray(333, 999), data.subarray(999)]),
      {
        limit: 1000,
        alignAt: 13,
      },
    );
    expect(body.equals(data)).toBe(true);
    expect((body.byteOffset + 13) % 8).toBe(0);
    expect(isOwned(body.buffer)).toBe(true);
  });

  it("refuses a declared length over the limit before reading, and a chunked body once it passes it", async () => {
    await expect(readBody(streamOf([bytes(10)]), { contentLength: 2000, limit: 1000 })).rejects.toMatchObject(
      {
        code: "BODY_TOO_LARGE",
        status: 413,
      },
    );
    await expect(readBody(streamOf([bytes(600), bytes(600)]), { limit: 1000 })).rejects.toMatchObject({
      code: "BODY_TOO_LARGE",
    });
  });

  it("refuses a body that disagrees with its Content-Length", async () => {
    await expect(readBody(streamOf([bytes(10)]), { contentLength: 20, limit: 1000 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/10 bytes.*Content-Length says 20/),
    });
    await expect(readBody(streamOf([bytes(30)]), { contentLength: 20, limit: 1000 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
  });

  it("reports a stream error as a bad request", async () => {
    const s = new PassThrough();
    queueMicrotask(() => s.destroy(new Error("socket hang up")));
    await expect(readBody(s, { contentLength: 5, limit: 10 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});

describe("alignmentPad", () => {
  it.each([
    [undefined, 0],
    [0, 0],
    [1, 7],
    [7, 1],
    [8, 0],
    [174, 2],
    [-3, 0],
  ])("alignAt %j → pad %i", (alignAt, pad) => {
    expect(alignmentPad(alignAt as number | undefined)).toBe(pad);
  });
});
