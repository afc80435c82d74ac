/**
 * Test oracle for redaction: Debian's Tesseract OCR (installed by .ci/setup.d/50-tesseract.sh), independent of
 * our detector. Missing → the calling test fails with a message naming the set-up script (never a silent skip).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Gray, writePgm } from "./pgm.ts";

function binary(): string {
  const bin = process.env.MEDMLOPS_TESSERACT ?? "/usr/bin/tesseract";
  try {
    execFileSync(bin, ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error(`Tesseract oracle unavailable at ${bin}: run bash .ci/setup.d/50-tesseract.sh`);
  }
  return bin;
}

/** Text Tesseract reads in an 8-bit grey image (page segmentation: sparse text, the way annotations sit). */
export function ocr(img: Gray): string {
  const dir = mkdtempSync(join(tmpdir(), "tess-"));
  try {
    const file = join(dir, "frame.pgm");
    writeFileSync(file, writePgm(img));
    return execFileSync(binary(), [file, "stdout", "--psm", "11", "-l", "eng"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The identifying words of a planted line: alphanumeric runs of at least 4 characters. */
export function words(line: string): string[] {
  return (line.toUpperCase().match(/[A-Z0-9]{4,}/g) ?? []).filter((w) => w !== "DOB");
}
