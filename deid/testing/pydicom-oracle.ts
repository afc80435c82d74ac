/**
 * Test oracle: pydicom (Debian's python3-pydicom, installed by .ci/setup.d/50-tesseract.sh) decodes the text
 * of DICOM files independently of our reader and character-set code. Not available → the calling test fails
 * with a message naming the set-up script (never a silent skip).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const SCRIPT = join(import.meta.dirname, "pydicom_text.py");

function python(): string {
  const py = process.env.MEDMLOPS_PYDICOM_PYTHON ?? "/usr/bin/python3";
  try {
    execFileSync(py, ["-c", "import pydicom"], { stdio: "ignore" });
  } catch {
    throw new Error(
      `pydicom oracle unavailable: ${py} cannot import pydicom. Install Debian's python3-pydicom ` +
        "(bash .ci/setup.d/50-tesseract.sh) or set MEDMLOPS_PYDICOM_PYTHON",
    );
  }
  return py;
}

/** [item path, tag "GGGGEEEE", VR, decoded text] of every standard text element, per file. */
export type PydicomText = Record<string, [string, string, string, string][]>;

export function pydicomText(files: readonly string[]): PydicomText {
  const out = execFileSync(python(), [SCRIPT, ...files], { encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(out) as PydicomText;
}
