/** A batch run: list the input files, de-identify each (in parallel with --jobs), write the JSON report. */
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { keyedId } from "./pseudonym.ts";
import { type Progress, runTasks } from "./pool.ts";
import { type FileTask, type ReportEntry, type RunConfig, writeAtomic } from "./process-file.ts";

export interface BatchRequest extends RunConfig {
  input: string;
  reportFile?: string;
  jobs: number;
  /** Per-file watchdog: a file not finished after this long is quarantined (TIMEOUT) and the run goes on. */
  timeoutMs: number;
  onProgress?: (p: Progress) => void;
}

export interface Report {
  version: 1;
  tool: "medmlops deid";
  startedAt: string;
  finishedAt: string;
  options: string[];
  keyVersion: string;
  summary: { total: number; deidentified: number; quarantined: number };
  files: ReportEntry[];
}

/**
 * Lists files under `input` (a file or a folder, recursively), skipping our own temporary files. Nothing is
 * skipped silently: a symbolic link whose target lies outside the input tree, a link to a folder (not followed:
 * loops), a FIFO, socket or device is listed with `refuse` set, so it is reported without being read.
 */
export async function listInputs(input: string): Promise<FileTask[]> {
  const root = await realpath(resolve(input));
  const info = await stat(root);
  if (info.isFile()) return [{ path: root, rel: basename(root), id: "", size: info.size }];
  if (!info.isDirectory()) {
    return [{ path: root, rel: basename(root), id: "", size: 0, refuse: NOT_REGULAR }];
  }
  const out: FileTask[] = [];
  const walk = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = join(dir, e.name);
      const rel = relative(root, full);
      if (e.name.endsWith(".tmp")) continue;
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push({ path: full, rel, id: "", size: (await lstat(full)).size });
      else if (e.isSymbolicLink()) out.push(await linked(root, full, rel));
      else out.push({ path: full, rel, id: "", size: 0, refuse: NOT_REGULAR });
    }
  };
  await walk(root);
  return out;
}

const NOT_REGULAR = {
  code: "NOT_A_REGULAR_FILE",
  reason: "not a regular file (FIFO, socket or device): not read",
} as const;

/** A link is read only when its target is a regular file inside the input tree. */
async function linked(root: string, full: string, rel: string): Promise<FileTask> {
  const refused = (refuse: FileTask["refuse"]): FileTask => ({ path: full, rel, id: "", size: 0, refuse });
  const target = await realpath(full).catch(() => undefined);
  const info = target ? await stat(target).catch(() => undefined) : undefined;
  if (!target || !info) return refused({ code: "READ_ERROR", reason: "broken symbolic link" });
  const within = !relative(root, target).startsWith("..") && !isAbsolute(relative(root, target));
  if (!within) {
    return refused({
      code: "SYMLINK_OUTSIDE_INPUT",
      reason: "symbolic link to a path outside the input tree: not followed",
    });
  }
  if (info.isDirectory()) {
    return refused({ code: "NOT_A_REGULAR_FILE", reason: "symbolic link to a folder: not followed" });
  }
  if (!info.isFile()) return refused(NOT_REGULAR);
  return { path: target, rel, id: "", size: info.size };
}

export async function runBatch(req: BatchRequest, now: () => Date = () => new Date()): Promise<Report> {
  const startedAt = now().toISOString();
  const tasks = await listInputs(req.input);
  const outputRoot = resolve(req.outputDir);
  // Never read what we are writing: skip inputs that live inside the output or quarantine folder.
  const inside = (p: string, dir?: string) =>
    dir !== undefined && !relative(resolve(dir), p).startsWith("..");
  const todo = tasks.filter((t) => !inside(t.path, outputRoot) && !inside(t.path, req.quarantineDir));
  for (const t of todo) t.id = `f-${keyedId(req.key, "input-path", t.rel, "", 16).toLowerCase()}`;
  const config: RunConfig = {
    key: req.key,
    options: req.options,
    pixelMasks: req.pixelMasks,
    outputDir: outputRoot,
    quarantineDir: req.quarantineDir ? resolve(req.quarantineDir) : undefined,
    layout: req.layout,
    maxFileBytes: req.maxFileBytes,
    textCheck: req.textCheck,
  };
  const files = await runTasks(todo, config, req.jobs, {
    timeoutMs: req.timeoutMs,
    onProgress: req.onProgress,
  });
  const deidentified = files.filter((f) => f.outcome === "deidentified").length;
  const report: Report = {
    version: 1,
    tool: "medmlops deid",
    startedAt,
    finishedAt: now().toISOString(),
    options: req.options,
    keyVersion: req.key.version,
    summary: { total: files.length, deidentified, quarantined: files.length - deidentified },
    files,
  };
  if (req.reportFile) {
    await writeAtomic(
      resolve(req.reportFile),
      new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`),
    );
  }
  return report;
}
