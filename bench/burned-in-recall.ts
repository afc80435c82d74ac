/**
 * Detection recall of the burned-in-text detector on the synthetic corpus (deid/testing/text_corpus.py):
 * a planted line counts as found when detected boxes cover ≥ 90 % of its pixels (what redaction needs), and
 * as detected at all when they cover any of it. Also: false positives on text-free frames, ms per frame.
 *
 *   npx tsx bench/burned-in-recall.ts [COUNT] [SEED]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectText } from "../deid/burned-in/detector.ts";
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
