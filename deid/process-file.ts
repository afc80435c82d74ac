/**
 * One file through the engine, with the I/O rules of the CLI: outputs and quarantine copies are written to a
 * temporary name and renamed into place, so a reader never sees a partial file; a file is either de-identified
 * or quarantined, never dropped. Reasons carry no values from the file.
 *
 * Output layout: pseudonymous by default — `<study UID>/<series UID>/<SOP instance UID>.dcm` with the remapped
 * UIDs, and the report names inputs by a keyed id (`f-…`), because input folders are often named after patients;
 * `--mirror-paths` mirrors the input's relative paths instead (and reports them).
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { deidentifyChecked } from "./burned-in/index.ts";
import { deidentify } from "./engine.ts";
import type { DeidKey, DeidOptionName, PixelMask, QuarantineCode } from "./types.ts";

export type Layout = "pseudonymous" | "mirror";

export interface RunConfig {
  key: DeidKey;
  options: DeidOptionName[];
  pixelMasks: PixelMask[];
  outputDir: string;
  quarantineDir?: string;
  layout: Layout;
  /** Larger files are refused without being read (TOO_LARGE): memory per file stays bounded. */
  maxFileBytes: number;
  /** Check images that may carry burned-in text with the text detector instead of quarantining them. */
  textCheck?: boolean;
}

/** Codes the CLI adds to the engine's: about the file as a file, not as DICOM. */
export type FileCode =
  | QuarantineCode
  | "READ_ERROR"
  | "WRITE_ERROR"
  | "TOO_LARGE"
  | "TIMEOUT"
  | "SYMLINK_OUTSIDE_INPUT"
  | "NOT_A_REGULAR_FILE";

export interface FileTask {
  /** Absolute input path. */
  path: string;
  /** Path relative to the input root (mirrored under the output directory with --mirror-paths). */
  rel: string;
  /** Keyed id naming the input in the report and the quarantine in the pseudonymous layout. */
  id: string;
  /** Size in bytes from the listing. */
  size: number;
  /** Set when the input must be reported but not read (a link out of the input tree, a FIFO, a device). */
  refuse?: { code: FileCode; reason: string };
}

export interface ReportEntry {
  input: string;
  outcome: "deidentified" | "quarantined";
  output?: string;
  code?: FileCode;
  reason?: string;
  warnings?: string[];
  patient?: string;
  bytesIn: number;
  bytesOut?: number;
}

/**
 * Writes `data` to `target` atomically (temp file in the same directory, then rename). With `exclusive`, an
 * existing target is never replaced (EEXIST is thrown instead).
 */
export async function writeAtomic(target: string, data: Uint8Array, exclusive = false): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    await writeFile(tmp, data, { flag: "wx" });
    if (exclusive) {
      await link(tmp, target);
      await rm(tmp, { force: true });
    } else await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** A quarantined file's report entry; `input` is the relative path only in mirror layout, else the opaque id. */
export function quarantined(
  task: FileTask,
  config: RunConfig,
  code: FileCode,
  reason: string,
  bytesIn = 0,
): ReportEntry {
  return { input: label(task, config), outcome: "quarantined", code, reason, bytesIn };
}

function label(task: FileTask, config: RunConfig): string {
  return config.layout === "mirror" ? task.rel : task.id;
}

/** Reads a whole file, refusing more than `max` bytes even if it grew since it was listed. */
async function readBounded(path: string, size: number, max: number): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(Math.min(size, max) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) {
        if (n > max) throw new RangeError("too large");
        break;
      }
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

export async function processFile(task: FileTask, config: RunConfig): Promise<ReportEntry> {
  if (task.refuse) return quarantined(task, config, task.refuse.code, task.refuse.reason);
  if (task.size > config.maxFileBytes) return tooLarge(task, config);
  let input: Uint8Array;
  try {
    input = await readBounded(task.path, task.size, config.maxFileBytes);
  } catch (err) {
    if (err instanceof RangeError) return tooLarge(task, config);
    return quarantined(task, config, "READ_ERROR", "cannot read input file");
  }
  const opts = { key: config.key, options: config.options, pixelMasks: config.pixelMasks };
  const result = config.textCheck === false ? deidentify(input, opts) : await deidentifyChecked(input, opts);
  if (result.ok) {
    try {
      const output = await writeOutput(task, config, result.output, result.pseudonyms);
      return {
        input: label(task, config),
        outcome: "deidentified",
        output,
        warnings: result.warnings.length > 0 ? result.warnings : undefined,
        patient: result.pseudonyms.patient,
        bytesIn: input.length,
        bytesOut: result.output.length,
      };
    } catch {
      return quarantined(task, config, "WRITE_ERROR", "cannot write output file", input.length);
    }
  }
  const entry = quarantined(task, config, result.code, result.reason, input.length);
  if (config.quarantineDir) {
    const copy = config.layout === "mirror" ? task.rel : `${task.id}.dcm`;
    try {
      await writeAtomic(join(config.quarantineDir, copy), input);
    } catch {
      entry.reason = `${entry.reason}; copy to quarantine failed`;
    }
  }
  return entry;
}

function tooLarge(task: FileTask, config: RunConfig): ReportEntry {
  const limit = config.maxFileBytes;
  return quarantined(
    task,
    config,
    "TOO_LARGE",
    `file of ${task.size} bytes exceeds the per-file limit of ${limit} bytes (--max-file-bytes); not read`,
    task.size,
  );
}

async function writeOutput(
  task: FileTask,
  config: RunConfig,
  data: Uint8Array,
  p: { study?: string; series?: string; sop?: string },
): Promise<string> {
  if (config.layout === "mirror") {
    await writeAtomic(join(config.outputDir, task.rel), data);
    return task.rel;
  }
  const folder = join(p.study ?? "no-study", p.series ?? "no-series");
  const sop = p.sop ?? task.id;
  const rel = join(folder, `${sop}.dcm`);
  try {
    await writeAtomic(join(config.outputDir, rel), data, true);
    return rel;
  } catch (err) {
    if (!(err instanceof Error && "code" in err && err.code === "EEXIST")) throw err;
    // Already there: the same bytes (a re-run, an exact copy) are fine; another file claiming the same SOP
    // Instance UID is kept too, under its input's keyed id, so nothing is lost.
    const existing = await readFile(join(config.outputDir, rel)).catch(() => undefined);
    if (existing && Buffer.from(data).equals(existing)) return rel;
    const second = join(folder, `${sop}.${task.id}.dcm`);
    await writeAtomic(join(config.outputDir, second), data);
    return second;
  }
}
