import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { pydicomTestFiles } from "../../test/fixtures/pydicom.ts";
import { ctPhantom, writeDicom } from "../testing/dicom.ts";
import { decodeImage, loadCodecs, TS } from "./pixels.ts";

describe("pixel decoding, synthetic (dcmjs-written)", () => {
  it.each([TS.explicitLE, TS.implicitLE, TS.explicitBE, TS.rle])(
    "%s returns the stored values",
    async (ts) => {
      const pixels = ctPhantom(33, 47, 3);
      const im = await decodeImage(
        writeDicom({ rows: 33, columns: 47, pixels, transferSyntax: ts, rescaleIntercept: -1024 }),
      );
      expect(im.header).toMatchObject({
        transferSyntax: ts,
        rows: 33,
        columns: 47,
        rescaleIntercept: -1024,
        rescaleSlope: 1,
      });
      expect(Array.from(im.frames[0] ?? [])).toEqual(Array.from(pixels));
    },
  );

  it("decodes every frame of a multi-frame instance", async () => {
    const pixels = new Int16Array(3 * 8 * 8).map((_, i) => i - 50);
    for (const ts of [TS.explicitLE, TS.rle]) {
      const im = await decodeImage(
        writeDicom({ rows: 8, columns: 8, frames: 3, pixels, transferSyntax: ts }),
      );
      expect(im.frames).toHaveLength(3);
      expect(Array.from(im.frames[2] ?? [])).toEqual(Array.from(pixels.subarray(128)));
    }
  });
});

describe("pixel decoding, pydicom's test files (Debian python3-pydicom)", () => {
  let files: Map<string, string>;
  beforeAll(async () => {
    files = new Map((await pydicomTestFiles()).map((f) => [basename(f), f]));
    await loadCodecs();
  }, 300_000);
  const decode = (name: string) => decodeImage(readFileSync(files.get(name) as string));

  it("MR_small in every lossless transfer syntax decodes to the same pixels", async () => {
    const ref = await decode("MR_small.dcm");
    expect(ref.header.transferSyntax).toBe(TS.explicitLE);
    for (const name of [
      "MR_small_RLE.dcm",
      "MR_small_bigendian.dcm",
      "MR_small_implicit.dcm",
      "MR_small_jp2klossless.dcm",
      "MR_small_jpeg_ls_lossless.dcm",
    ]) {
      const im = await decode(name);
      expect(Array.from(im.frames[0] ?? []), name).toEqual(Array.from(ref.frames[0] ?? []));
    }
  });

  it("RGB: RLE, JPEG lossless (SV1) and native agree; JPEG baseline is close", async () => {
    const rle = await decode("SC_rgb_rle.dcm");
    const lossless = await decode("SC_rgb_jpeg_gdcm.dcm");
    expect(lossless.header.transferSyntax).toBe(TS.jpegLosslessSV1);
    expect(Array.from(lossless.frames[0] ?? [])).toEqual(Array.from(rle.frames[0] ?? []));
    const rle16 = await decode("SC_rgb_rle_16bit_2frame.dcm");
    expect(rle16.frames).toHaveLength(2);
    const baseline = await decode("SC_rgb_jpeg_dcmtk.dcm");
    expect(baseline.header.transferSyntax).toBe(TS.jpegBaseline);
    const a = rle.frames[0] as Uint8Array;
    const b = baseline.frames[0] as Uint8Array;
    let err = 0;
    for (let i = 0; i < a.length; i++) err += Math.abs((a[i] as number) - (b[i] as number));
    expect(err / a.length).toBeLessThan(3);
    const ybr = await decode("SC_ybr_full_422_uncompressed.dcm");
    let err2 = 0;
    for (let i = 0; i < a.length; i++) err2 += Math.abs((a[i] as number) - (ybr.frames[0]?.[i] as number));
    expect(err2 / a.length).toBeLessThan(3);
  });

  it("JPEG 2000 lossy and deflated files decode; 12-bit JPEG extended and 1-bit are refused with a code", async () => {
    expect((await decode("JPEG2000.dcm")).frames[0]).toHaveLength(1024 * 256);
    expect((await decode("image_dfl.dcm")).header.transferSyntax).toBe(TS.deflatedLE);
    await expect(decode("JPGExtended.dcm")).rejects.toMatchObject({
      code: "UNSUPPORTED_TRANSFER_SYNTAX",
      status: 415,
    });
    await expect(decode("liver_1frame.dcm")).rejects.toMatchObject({
      code: "UNSUPPORTED_PIXEL_DATA",
      status: 422,
    });
    await expect(decode("MR_truncated.dcm")).rejects.toMatchObject({ code: "INVALID_DICOM" });
    await expect(decode("rtplan.dcm")).rejects.toMatchObject({ code: "UNSUPPORTED_PIXEL_DATA" });
  });

  it("never throws anything but a coded error on any pydicom file", async () => {
    for (const [name, path] of files) {
      try {
        await decodeImage(readFileSync(path));
      } catch (e) {
        expect((e as { code?: string }).code, name).toMatch(
          /^(INVALID_DICOM|UNSUPPORTED_TRANSFER_SYNTAX|UNSUPPORTED_PIXEL_DATA)$/,
        );
      }
    }
  }, 120_000);
});
