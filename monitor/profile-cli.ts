/**
 * `medmlops monitor profile --records FILE.ndjson --out profile.json [--bins N]`: builds a reference profile
 * offline from a validation run's records (one Record per line, the shape POST /v1/records takes). A line that
 * is not a valid record is counted and reported by line number and code, never by content; any bad line fails
 * the command (exit 1) unless --skip-invalid is given, so a profile is never silently built from part of a file.
 */
import { createReadStream, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { z } from "zod";
import { EXIT } from "../common/exit-codes.ts";
import { buildProfile, DEFAULT_BINS, type ProfileRecord } from "./stats/index.ts";
import { parseRecord } from "./wire.ts";

export const PROFILE_USAGE = `usage: medmlops monitor profile --records FILE.ndjson --out profile.json [options]
  --records FILE     NDJSON, one monitor Record per line (time, namespace, model, version, caseId, inputs, ...)
  --out FILE         where to write the profile (format medmlops.io/reference-profile/v1)
  --bins N           bins per numeric feature (default ${DEFAULT_BINS}: binned KS/Wasserstein within 0.02 of exact)
  --skip-invalid     build from the valid lines and report the others (default: any invalid line fails)
Exit codes: 0 written, 1 unreadable input or invalid lines, 2 usage error.`;

const Flags = z.object({
  records: z.string().min(1, "--records is required"),
  out: z.string().min(1, "--out is required"),
  bins: z.coerce.number().int().min(2).max(10_000).default(DEFAULT_BINS),
  "skip-invalid": z.boolean().default(false),
});

export async function main(argv: string[]): Promise<number> {
  let flags: z.infer<typeof Flags>;
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        records: { type: "string" },
        out: { type: "string" },
        bins: { type: "string" },
        "skip-invalid": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      process.stdout.write(`${PROFILE_USAGE}\n`);
      return EXIT.ok;
    }
    const { help: _h, ...rest } = values;
    const p = Flags.safeParse({ records: "", out: "", ...rest });
    if (!p.success) throw new Error(p.error.issues.map((i) => i.message).join("; "));
    flags = p.data;
  } catch (err) {
    process.stderr.write(
      `medmlops monitor profile: ${err instanceof Error ? err.message : String(err)}\n\n${PROFILE_USAGE}\n`,
    );
    return EXIT.usage;
  }
  const records: ProfileRecord[] = [];
  const invalid: { line: number; code: string }[] = [];
  try {
    const lines = createInterface({
      input: createReadStream(flags.records),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let line = 0;
    for await (const text of lines) {
      line++;
      if (text.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        invalid.push({ line, code: "INVALID_JSON" });
        continue;
      }
      const r = parseRecord(value);
      if (!r.ok) {
        invalid.push({ line, code: r.code });
        continue;
      }
      records.push({ inputs: r.record.inputs, outputs: r.record.outputs, metadata: r.record.metadata ?? {} });
    }
  } catch (err) {
    process.stderr.write(
      `medmlops monitor profile: cannot read --records: ${(err as NodeJS.ErrnoException).code ?? "error"}\n`,
    );
    return EXIT.failure;
  }
  for (const bad of invalid.slice(0, 20)) process.stderr.write(`line ${bad.line}: ${bad.code}\n`);
  if (invalid.length > 20) process.stderr.write(`… and ${invalid.length - 20} more invalid lines\n`);
  if (invalid.length > 0 && !flags["skip-invalid"]) {
    process.stderr.write(
      `medmlops monitor profile: ${invalid.length} invalid line(s); nothing written (see --skip-invalid)\n`,
    );
    return EXIT.failure;
  }
  if (records.length === 0) {
    process.stderr.write("medmlops monitor profile: no valid records; nothing written\n");
    return EXIT.failure;
  }
  const profile = buildProfile(records, flags.bins);
  writeFileSync(flags.out, `${JSON.stringify(profile)}\n`);
  process.stdout.write(
    `wrote ${flags.out}: ${profile.n} records, ${Object.keys(profile.features).length} features${invalid.length ? `, ${invalid.length} invalid lines skipped` : ""}\n`,
  );
  return EXIT.ok;
}
