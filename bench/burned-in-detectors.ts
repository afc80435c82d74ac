/**
 * The detector choice, measured: PP-OCRv4's text-detection model (what `deid/burned-in/` runs) against
 * tesseract.js with its packaged English data (`@tesseract.js-data/eng`, nothing downloaded), each with its own
 * defaults, on the same synthetic corpus (deid/testing/text_corpus.py), frames interleaved. A planted line counts
 * as covered when a detector's boxes cover ≥ 90 % of its pixels (what redaction needs) and as touched when they
 * cover any of it; tesseract.js' boxes are its word boxes (every word, whatever its confidence — for redaction
 * a low-confidence word is still text). Also false detections on text-free frames and ms per frame.
 *
 *   npx tsx bench/burned-in-detectors.ts [COUNT] [SEED]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createWorker } from "tesseract.js";
import type { Box } from "../deid/burned-in/detector.ts";
import { detectText } from "../deid/burned-in/detector.ts";
import { readPgm } from "../deid/testing/pgm.ts";

const count = Number(process.argv[2] ?? 60);
const seed = Number(process.argv[3] ?? 7);
const dir = mkdtempSync(join(tmpdir(), "burned-in-detectors-"));
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

// The packaged language data (the package's default "fast" 4.0.0 model) — read from node_modules, never fetched.
const require = createRequire(import.meta.url);
const langPath = join(dirname(require.resolve("@tesseract.js-data/eng/package.json")), "4.0.0");
const worker = await createWorker("eng", 1, { langPath, cacheMethod: "none", gzip: true });

async function tesseractBoxes(file: string): Promise<Box[]> {
  const { data } = await worker.recognize(file, {}, { blocks: true });
  const boxes: Box[] = [];
  for (const block of data.blocks ?? [])
    for (const para of block.paragraphs)
      for (const line of para.lines)
        for (const w of line.words) {
          if (w.text.trim() === "") continue;
          const b = w.bbox;
          boxes.push({
            x: b.x0,
            y: b.y0,
            width: b.x1 - b.x0,
            height: b.y1 - b.y0,
            score: w.confidence / 100,
          });
        }
  return boxes;
}

interface Tally {
  lines: number;
  covered: number;
  touched: number;
  textFree: number;
  falseFrames: number;
  ms: number[];
}
const tally = (): Tally => ({ lines: 0, covered: 0, touched: 0, textFree: 0, falseFrames: 0, ms: [] });
const results = { "pp-ocrv4 (onnxruntime-node)": tally(), "tesseract.js 7 (eng 4.0.0)": tally() };

function score(t: Tally, lines: (typeof truth)[number]["lines"], boxes: Box[]): void {
  if (lines.length === 0) {
    t.textFree++;
    if (boxes.length > 0) t.falseFrames++;
    return;
  }
  for (const l of lines) {
    t.lines++;
    const [x, y, w, h] = l.box as [number, number, number, number];
    let inside = 0;
    for (let yy = y; yy < y + h; yy++)
      for (let xx = x; xx < x + w; xx++)
        if (boxes.some((b) => xx >= b.x && xx < b.x + b.width && yy >= b.y && yy < b.y + b.height)) inside++;
    const frac = inside / (w * h);
    if (frac >= 0.9) t.covered++;
    if (frac > 0) t.touched++;
  }
}

for (const [i, t] of truth.entries()) {
  const path = join(dir, t.file);
  const img = readPgm(readFileSync(path));
  // Interleaved, alternating which goes first, so drift in machine load hits both alike.
  const order = i % 2 === 0 ? ["pp", "tess"] : ["tess", "pp"];
  for (const which of order) {
    const start = performance.now();
    const boxes =
      which === "pp" ? await detectText(img.pixels, img.width, img.height) : await tesseractBoxes(path);
    const ms = performance.now() - start;
    const r = which === "pp" ? results["pp-ocrv4 (onnxruntime-node)"] : results["tesseract.js 7 (eng 4.0.0)"];
    r.ms.push(ms);
    score(r, t.lines, boxes);
  }
}
await worker.terminate();

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)] ?? 0;
for (const [name, t] of Object.entries(results)) {
  console.log(
    JSON.stringify({
      detector: name,
      frames: truth.length,
      lines: t.lines,
      recallCovered: Number((t.covered / t.lines).toFixed(3)),
      recallTouched: Number((t.touched / t.lines).toFixed(3)),
      textFreeFrames: t.textFree,
      falseDetectionFrames: t.falseFrames,
      msPerFrameMedian: Math.round(q(t.ms, 0.5)),
      msPerFrameP10: Math.round(q(t.ms, 0.1)),
      msPerFrameP90: Math.round(q(t.ms, 0.9)),
    }),
  );
}
