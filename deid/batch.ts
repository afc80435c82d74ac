/** A batch run: list the input files, de-identify each (in parallel with --jobs), write the JSON report. */
import { readdir, stat } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { runTasks } from "./pool.ts";
import { type FileTask, type ReportEntry, type RunConfig, writeAtomic } from "./process-file.ts";

export interface BatchRequest extends RunConfig {
  input: string;
  reportFile?: string;
  jobs: number;
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

/** Lists files under `input` (a file or a folder, recursively), skipping our own temporary files. */
export async function listInputs(input: string): Promise<FileTask[]> {
  const root = resolve(input);
  const info = await stat(root);
  if (info.isFile()) return [{ path: root, rel: basename(root) }];
  const out: FileTask[] = [];
  const walk = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.name.endsWith(".tmp")) continue;
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push({ path: full, rel: relative(root, full) });
      else if (e.isSymbolicLink()) {
        // Linked files are processed like files (none silently skipped); linked folders are not followed (loops).
        const target = await stat(full).catch(() => undefined);
        if (!target || target.isFile()) out.push({ path: full, rel: relative(root, full) });
      }
    }
  };
  await walk(root);
  return out;
}

export async function runBatch(req: BatchRequest, now: () => Date = () => new Date()): Promise<Report> {
  const startedAt = now().toISOString();
  const tasks = await listInputs(req.input);
  const outputRoot = resolve(req.outputDir);
  // Never read what we are writing: skip inputs that live inside the output or quarantine folder.
  const inside = (p: string, dir?: string) =>
    dir !== undefined && !relative(resolve(dir), p).startsWith("..");
  const todo = tasks.filter((t) => !inside(t.path, outputRoot) && !inside(t.path, req.quarantineDir));
  const config: RunConfig = {
    key: req.key,
    options: req.options,
    pixelMasks: req.pixelMasks,
    outputDir: outputRoot,
    quarantineDir: req.quarantineDir ? resolve(req.quarantineDir) : undefined,
  };
  const files = await runTasks(todo, config, req.jobs);
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
