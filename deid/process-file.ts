/**
 * One file through the engine, with the I/O rules of the CLI: outputs and quarantine copies are written to a
 * temporary name and renamed into place, so a reader never sees a partial file; a file is either de-identified
 * or quarantined, never dropped. Reasons carry no values from the file.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { deidentify } from "./engine.ts";
import type { DeidKey, DeidOptionName, PixelMask, QuarantineCode } from "./types.ts";

export interface RunConfig {
  key: DeidKey;
  options: DeidOptionName[];
  pixelMasks: PixelMask[];
  outputDir: string;
  quarantineDir?: string;
}

export interface FileTask {
  /** Absolute input path. */
  path: string;
  /** Path relative to the input root, mirrored under the output directory. */
  rel: string;
}

export interface ReportEntry {
  input: string;
  outcome: "deidentified" | "quarantined";
  output?: string;
  code?: QuarantineCode | "READ_ERROR" | "WRITE_ERROR";
  reason?: string;
  warnings?: string[];
  patient?: string;
  bytesIn: number;
  bytesOut?: number;
}

/** Writes `data` to `target` atomically (temp file in the same directory, then rename). */
export async function writeAtomic(target: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    await writeFile(tmp, data, { flag: "wx" });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function processFile(task: FileTask, config: RunConfig): Promise<ReportEntry> {
  let input: Uint8Array;
  try {
    input = await readFile(task.path);
  } catch {
    return {
      input: task.rel,
      outcome: "quarantined",
      code: "READ_ERROR",
      reason: "cannot read input file",
      bytesIn: 0,
    };
  }
  const result = deidentify(input, {
    key: config.key,
    options: config.options,
    pixelMasks: config.pixelMasks,
  });
  if (result.ok) {
    try {
      await writeAtomic(join(config.outputDir, task.rel), result.output);
      return {
        input: task.rel,
        outcome: "deidentified",
        output: task.rel,
        warnings: result.warnings.length > 0 ? result.warnings : undefined,
        patient: result.pseudonyms.patient,
        bytesIn: input.length,
        bytesOut: result.output.length,
      };
    } catch {
      return {
        input: task.rel,
        outcome: "quarantined",
        code: "WRITE_ERROR",
        reason: "cannot write output file",
        bytesIn: input.length,
      };
    }
  }
  const entry: ReportEntry = {
    input: task.rel,
    outcome: "quarantined",
    code: result.code,
    reason: result.reason,
    bytesIn: input.length,
  };
  if (config.quarantineDir) {
    try {
      await writeAtomic(join(config.quarantineDir, task.rel), input);
    } catch {
      entry.reason = `${entry.reason}; copy to quarantine failed`;
    }
  }
  return entry;
}
