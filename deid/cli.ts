/**
 * medmlops deid <input> <output-dir> [--key-file F] [--option NAME]... [--quarantine DIR] [--report FILE]
 *                [--jobs N] [--pixel-masks FILE] [--mirror-paths] [--timeout S] [--max-file-bytes N] [--quiet]
 * medmlops deid init            init-container mode (env-driven: reads /input, writes /output)
 * medmlops deid verify <original> <deidentified> [--option NAME]...
 *
 * Exit codes: 0 every file de-identified · 3 some quarantined (the rest written) · 2 usage · 1 failure.
 * Messages carry counts and codes only, never values from the files.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { EXIT } from "../common/exit-codes.ts";
import { dirname, resolve } from "node:path";
import { runBatch } from "./batch.ts";
import { containerMemoryLimit, DEFAULT_MAX_FILE_BYTES, fitToMemory } from "./memory.ts";
import { checkWritableFolder, PreflightError } from "./preflight.ts";
import type { Layout } from "./process-file.ts";
import { ttyProgress } from "./progress.ts";
import { KeyError, loadKey } from "./key.ts";
import { DEID_OPTION_NAMES, type DeidOptionName, type PixelMask } from "./types.ts";
import { verifyFiles } from "./verify.ts";

const USAGE = `Usage:
  medmlops deid <input> <output-dir> [--key-file F] [--option NAME]... [--quarantine DIR] [--report FILE]
                [--jobs N] [--pixel-masks FILE] [--mirror-paths] [--timeout S] [--max-file-bytes N] [--quiet]
  medmlops deid init          (init container: MEDMLOPS_DEID_INPUT=/input, MEDMLOPS_DEID_OUTPUT=/output, …)
  medmlops deid verify <original> <deidentified> [--option NAME]...

Options: ${DEID_OPTION_NAMES.join(", ")}
Key: --key-file, or MEDMLOPS_DEID_KEY / MEDMLOPS_DEID_KEY_FILE / a Secret mounted at MEDMLOPS_DEID_KEY_DIR.
Outputs: <study>/<series>/<instance>.dcm by pseudonymised UIDs, inputs named by keyed ids in the report;
  --mirror-paths mirrors the input's relative paths instead (folder names may carry identifiers).
Images that may carry burned-in text (US, SC, Burned In Annotation YES) are checked by a text detector and
  released, redacted or quarantined; --no-text-check quarantines them all, as before.
--timeout S: per-file watchdog (default 300). --max-file-bytes N: larger files refused unread (default 1 GiB).
A progress line is shown on a terminal unless --quiet.
Exit codes: 0 all de-identified, 3 some quarantined, 2 usage error, 1 failure (e.g. output not writable).
`;

class UsageError extends Error {}

const OptionSchema = z.enum(DEID_OPTION_NAMES);
const JobsSchema = z.coerce.number().int().min(1).max(256);
const TimeoutSchema = z.coerce.number().positive().max(86_400);
const MaxBytesSchema = z.coerce.number().int().min(1024);
export const PixelMasksSchema = z.array(
  z
    .object({
      manufacturer: z.string().min(1).optional(),
      model: z.string().min(1).optional(),
      rows: z.number().int().positive(),
      columns: z.number().int().positive(),
      rectangles: z
        .array(
          z.object({
            x: z.number().int().min(0),
            y: z.number().int().min(0),
            width: z.number().int().positive(),
            height: z.number().int().positive(),
          }),
        )
        .min(1),
    })
    .strict(),
);

function parseOptions(values: readonly string[]): DeidOptionName[] {
  const out: DeidOptionName[] = [];
  for (const raw of values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean)) {
    const r = OptionSchema.safeParse(raw);
    if (!r.success) throw new UsageError(`unknown option "${raw}"`);
    out.push(r.data);
  }
  if (
    out.includes("RetainLongitudinalTemporalInformationFullDates") &&
    out.includes("RetainLongitudinalTemporalInformationModifiedDates")
  ) {
    throw new UsageError("the Full Dates and Modified Dates options exclude each other");
  }
  return [...new Set(out)];
}

function parseMasks(file: string | undefined): PixelMask[] {
  if (!file) return [];
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new UsageError("--pixel-masks: cannot read the file as JSON");
  }
  const r = PixelMasksSchema.safeParse(json);
  if (!r.success) throw new UsageError(`--pixel-masks: ${r.error.issues[0]?.message ?? "invalid"}`);
  return r.data;
}

function parseJobs(v: string | undefined): number {
  if (v === undefined) return 1;
  const r = JobsSchema.safeParse(v);
  if (!r.success) throw new UsageError("--jobs must be an integer from 1 to 256");
  return r.data;
}

const FLAGS = {
  "key-file": { type: "string" },
  option: { type: "string", multiple: true },
  quarantine: { type: "string" },
  report: { type: "string" },
  jobs: { type: "string" },
  "pixel-masks": { type: "string" },
  "mirror-paths": { type: "boolean" },
  timeout: { type: "string" },
  "max-file-bytes": { type: "string" },
  quiet: { type: "boolean", short: "q" },
  "no-text-check": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function parseTimeout(v: string | undefined): number {
  if (v === undefined) return 300_000;
  const r = TimeoutSchema.safeParse(v);
  if (!r.success) throw new UsageError("--timeout must be a number of seconds (at most 86400)");
  return r.data * 1000;
}

function parseMaxBytes(v: string | undefined): number {
  if (v === undefined) return DEFAULT_MAX_FILE_BYTES;
  const r = MaxBytesSchema.safeParse(v);
  if (!r.success) throw new UsageError("--max-file-bytes must be an integer of at least 1024");
  return r.data;
}

interface Plan {
  input: string;
  output: string;
  keyFile?: string;
  options: DeidOptionName[];
  quarantine?: string;
  report?: string;
  jobs: number;
  masks: PixelMask[];
  init: boolean;
  layout: Layout;
  timeoutMs: number;
  maxFileBytes: number;
  quiet: boolean;
  textCheck: boolean;
}

function batchPlan(argv: string[]): Plan | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return "help";
  if (positionals.length !== 2) throw new UsageError("expected <input> and <output-dir>");
  return {
    input: positionals[0] as string,
    output: positionals[1] as string,
    keyFile: values["key-file"],
    options: parseOptions(values.option ?? []),
    quarantine: values.quarantine,
    report: values.report,
    jobs: parseJobs(values.jobs),
    masks: parseMasks(values["pixel-masks"]),
    init: false,
    layout: values["mirror-paths"] ? "mirror" : "pseudonymous",
    timeoutMs: parseTimeout(values.timeout),
    maxFileBytes: parseMaxBytes(values["max-file-bytes"]),
    quiet: values.quiet ?? false,
    textCheck: !values["no-text-check"],
  };
}

/** Init-container mode: everything from env (flags override), defaults for a batch/retraining pod. */
export function initPlan(argv: string[], env: NodeJS.ProcessEnv): Plan | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return "help";
  if (positionals.length > 0) throw new UsageError("init takes no positional arguments");
  const output = env.MEDMLOPS_DEID_OUTPUT ?? "/output";
  // Fit jobs and the per-file limit under the container's memory limit (deid/memory.ts).
  const fitted = fitToMemory(
    containerMemoryLimit(),
    parseJobs(values.jobs ?? env.MEDMLOPS_DEID_JOBS ?? String(Math.min(availableParallelism(), 4))),
    parseMaxBytes(values["max-file-bytes"] ?? env.MEDMLOPS_DEID_MAX_FILE_BYTES),
  );
  return {
    input: env.MEDMLOPS_DEID_INPUT ?? "/input",
    output,
    keyFile: values["key-file"],
    options: parseOptions(values.option ?? (env.MEDMLOPS_DEID_OPTIONS ? [env.MEDMLOPS_DEID_OPTIONS] : [])),
    quarantine: values.quarantine ?? env.MEDMLOPS_DEID_QUARANTINE,
    report: values.report ?? env.MEDMLOPS_DEID_REPORT ?? `${output.replace(/\/+$/, "")}/deid-report.json`,
    jobs: fitted.jobs,
    masks: parseMasks(values["pixel-masks"] ?? env.MEDMLOPS_DEID_PIXEL_MASKS),
    init: true,
    layout: values["mirror-paths"] || env.MEDMLOPS_DEID_MIRROR_PATHS === "1" ? "mirror" : "pseudonymous",
    timeoutMs: parseTimeout(values.timeout ?? env.MEDMLOPS_DEID_TIMEOUT),
    maxFileBytes: fitted.maxFileBytes,
    quiet: true,
    textCheck: !(values["no-text-check"] || env.MEDMLOPS_DEID_TEXT_CHECK === "0"),
  };
}

async function execute(plan: Plan, env: NodeJS.ProcessEnv): Promise<number> {
  let key: ReturnType<typeof loadKey>;
  try {
    key = loadKey({ file: plan.keyFile, env });
  } catch (err) {
    if (err instanceof KeyError) throw new UsageError(err.message);
    throw err;
  }
  // One clear error before any file is processed, rather than every file "quarantined".
  await checkWritableFolder(plan.output, "output folder");
  if (plan.quarantine) await checkWritableFolder(plan.quarantine, "quarantine folder");
  if (plan.report) await checkWritableFolder(dirname(resolve(plan.report)), "report folder");
  const progress = !plan.quiet && process.stderr.isTTY ? ttyProgress(process.stderr) : undefined;
  const report = await runBatch({
    input: plan.input,
    outputDir: plan.output,
    key,
    options: plan.options,
    pixelMasks: plan.masks,
    quarantineDir: plan.quarantine,
    reportFile: plan.report,
    jobs: plan.jobs,
    layout: plan.layout,
    timeoutMs: plan.timeoutMs,
    maxFileBytes: plan.maxFileBytes,
    textCheck: plan.textCheck,
    onProgress: progress?.update,
  });
  progress?.end();
  const { total, deidentified, quarantined } = report.summary;
  const codes = new Map<string, number>();
  for (const f of report.files) if (f.code) codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
  const byCode = [...codes].map(([c, n]) => `${c}=${n}`).join(" ");
  process.stderr.write(
    `deid: ${total} files, ${deidentified} de-identified, ${quarantined} quarantined${byCode ? ` (${byCode})` : ""}\n`,
  );
  const code = exitCode(plan, total, deidentified, quarantined);
  if (codes.has("TIMEOUT")) {
    // An abandoned read or write (a FIFO, a hung mount) would keep the process alive: end it once all is said.
    setTimeout(() => process.exit(code), 2000).unref();
  }
  return code;
}

function exitCode(plan: Plan, total: number, deidentified: number, quarantined: number): number {
  if (plan.init) {
    if (deidentified > 0) return EXIT.ok;
    return total === 0 ? EXIT.failure : EXIT.quarantined;
  }
  if (total === 0) {
    process.stderr.write("deid: no input files\n");
    return EXIT.failure;
  }
  return quarantined > 0 ? EXIT.quarantined : EXIT.ok;
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { option: { type: "string", multiple: true }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 2) throw new UsageError("verify expects <original> <deidentified>");
  const result = await verifyFiles(
    positionals[0] as string,
    positionals[1] as string,
    values.option ? parseOptions(values.option) : undefined,
  );
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.leaks.length === 0 ? EXIT.ok : EXIT.failure;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    if (argv[0] === "verify") return await verifyCommand(argv.slice(1));
    const plan = argv[0] === "init" ? initPlan(argv.slice(1), env) : batchPlan(argv);
    if (plan === "help") {
      process.stdout.write(USAGE);
      return EXIT.ok;
    }
    return await execute(plan, env);
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))
    ) {
      process.stderr.write(`deid: ${err.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    if (err instanceof PreflightError) {
      process.stderr.write(`deid: ${err.message}; nothing processed\n`);
      return EXIT.failure;
    }
    if (err instanceof Error && "code" in err && (err.code === "ENOENT" || err.code === "ENOTDIR")) {
      process.stderr.write("deid: input path not found\n");
      return EXIT.usage;
    }
    throw err;
  }
}
