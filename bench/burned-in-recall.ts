/**
 * Detection recall of the burned-in-text detector on the synthetic corpus (deid/testing/text_corpus.py):
 * a planted line counts as found when detected boxes cover ≥ 90 % of its pixels (what redaction needs), and
 * as detected at all when they cover any of it. Also: false positives on text-free frames, ms per frame.
 *
 * Then the cost of the whole check per image (deidentifyChecked: decode, detect, redact, re-check, write) on
 * ultrasound frames (640×480) and secondary captures (512×512) from the corpus, against the engine alone on the
 * same file (which quarantines it), interleaved, medians.
 *
 *   npx tsx bench/burned-in-recall.ts [COUNT] [SEED]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectText } from "../deid/burned-in/detector.ts";
import { deidentifyChecked } from "../deid/burned-in/index.ts";
import { deidentify } from "../deid/engine.ts";
import { baseSpecs, buildFile, TEST_KEY, us } from "../deid/testing/build.ts";
import { readPgm } from "../deid/testing/pgm.ts";

const count = Number(process.argv[2] ?? 90);
const seed = Number(process.argv[3] ?? 11);
const dir = mkdtempSync(join(tmpdir(), "burned-in-corpus-"));
execFileSync("/usr/bin/python3", [
  join(import.meta.dirname, "..", "deid", "testing", "text_corpus.py"),
  dir,
  String(count),
  String(seed),
]);
const truth = JSON.parse(readFileSync(join(dir, "truth.json"), "utf8")) as {
  file: string;
  lines: { text: string; box: number[]; size: number }[];
}[];

let lines = 0;
let covered = 0;
let touched = 0;
let textFree = 0;
let falsePositive = 0;
const times: number[] = [];
const missedSizes: number[] = [];
for (const t of truth) {
  const img = readPgm(readFileSync(join(dir, t.file)));
  const start = performance.now();
  const boxes = await detectText(img.pixels, img.width, img.height);
  times.push(performance.now() - start);
  if (t.lines.length === 0) {
    textFree++;
    if (boxes.length > 0) falsePositive++;
    continue;
  }
  for (const l of t.lines) {
    lines++;
    const [x, y, w, h] = l.box as [number, number, number, number];
    let inside = 0;
    for (let yy = y; yy < y + h; yy++)
      for (let xx = x; xx < x + w; xx++)
        if (boxes.some((b) => xx >= b.x && xx < b.x + b.width && yy >= b.y && yy < b.y + b.height)) inside++;
    const frac = inside / (w * h);
    if (frac >= 0.9) covered++;
    else missedSizes.push(l.size);
    if (frac > 0) touched++;
  }
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] ?? 0;
console.log(
  JSON.stringify({
    images: truth.length,
    lines,
    recallCovered: covered / lines,
    recallTouched: touched / lines,
    textFree,
    falsePositiveFrames: falsePositive,
    msPerFrameMedian: Math.round(median),
    msPerFrameP90: Math.round(times[Math.floor(times.length * 0.9)] ?? 0),
    missedFontSizes: missedSizes.sort((a, b) => a - b),
  }),
);

/** Wraps a corpus frame as a DICOM instance of the given modality / SOP class. */
function wrap(
  img: { width: number; height: number; pixels: Uint8Array },
  modality: string,
  sopClass: string,
): Uint8Array {
  return buildFile(
    baseSpecs({ modality }).map((sp) => {
      if (sp[0] === 0x00080016) return [sp[0], sp[1], sopClass] as typeof sp;
      if (sp[0] === 0x00280010) return [sp[0], sp[1], us(img.height)] as typeof sp;
      if (sp[0] === 0x00280011) return [sp[0], sp[1], us(img.width)] as typeof sp;
      if (sp[0] === 0x00280100 || sp[0] === 0x00280101) return [sp[0], sp[1], us(8)] as typeof sp;
      if (sp[0] === 0x00280102) return [sp[0], sp[1], us(7)] as typeof sp;
      if (sp[0] === 0x7fe00010) return [sp[0], "OB", img.pixels] as typeof sp;
      return sp;
    }),
  );
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
for (const [label, w, h, modality, cls] of [
  ["ultrasound frame 640x480", 640, 480, "US", "1.2.840.10008.5.1.4.1.1.6.1"],
  ["secondary capture 512x512", 512, 512, "OT", "1.2.840.10008.5.1.4.1.1.7"],
] as const) {
  const frames = truth.filter((t) => {
    const img = readPgm(readFileSync(join(dir, t.file)));
    return img.width === w && img.height === h;
  });
  const checked: number[] = [];
  const engine: number[] = [];
  let released = 0;
  for (const t of frames) {
    const file = wrap(readPgm(readFileSync(join(dir, t.file))), modality, cls);
    let start = performance.now();
    deidentify(file, { key: TEST_KEY });
    engine.push(performance.now() - start);
    start = performance.now();
    const r = await deidentifyChecked(file, { key: TEST_KEY });
    checked.push(performance.now() - start);
    if (r.ok) released++;
  }
  console.log(
    JSON.stringify({
      image: label,
      n: frames.length,
      released,
      msWithCheckMedian: Math.round(med(checked)),
      msEngineAloneMedian: Number(med(engine).toFixed(2)),
    }),
  );
}
