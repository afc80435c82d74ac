/**
 * `medmlops fetch-model`: the init container of every model pod. Exit 0 only when --out holds bytes whose
 * SHA-256 is --sha256; otherwise exit 1 with {reason, message} in the termination log, which the MedModel
 * controller turns into phase Failed with that reason.
 */
import { existsSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { EXIT } from "../../common/exit-codes.ts";
import { FetchError, formatTerminationMessage } from "./errors.ts";
import { fetchModel } from "./fetch.ts";

export const USAGE = `usage: medmlops fetch-model --uri U --sha256 H --out F [options]
  --uri U                 pvc://<claim>/<path>, configmap://<name>/<key> or https://…
  --sha256 H              required SHA-256 (64 lowercase hex) of the file
  --out F                 where to write the verified file (written to a temp file, then renamed)
  --pvc-root D            where claims are mounted (default /sources/pvc)
  --configmap-root D      where ConfigMaps are mounted (default /sources/configmap)
  --max-bytes N           refuse larger sources (default 8589934592, 8 GiB)
  --timeout-ms T          give up after T ms (default 900000)
  --termination-log F     where to leave {reason, message} (default /dev/termination-log, if present)`;

const Flags = z.object({
  uri: z.string().min(1, "--uri is required"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "--sha256 must be 64 lowercase hex characters"),
  out: z.string().min(1, "--out is required"),
  "pvc-root": z.string().default("/sources/pvc"),
  "configmap-root": z.string().default("/sources/configmap"),
  "max-bytes": z.coerce
    .number()
    .int()
    .positive()
    .default(8 * 1024 ** 3),
  "timeout-ms": z.coerce.number().int().positive().default(900_000),
  "termination-log": z.string().default("/dev/termination-log"),
  "allow-http": z.enum(["true", "false"]).default("false"),
});

export type FetchFlags = z.infer<typeof Flags>;

/** Parses and validates the flags (the ones the MedModel Deployment builder passes, among others); throws on bad input. */
export function parseFetchFlags(argv: string[]): FetchFlags {
  const names = Object.keys(Flags.shape);
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(names.map((n) => [n, { type: "string" as const }])),
    strict: true,
    allowPositionals: false,
  });
  const parsed = Flags.safeParse(values);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data;
}

function leaveTerminationMessage(path: string, code: string, message: string): void {
  if (!existsSync(path)) return;
  try {
    writeFileSync(path, formatTerminationMessage(code, message));
  } catch {
    // best effort: the message is also on stderr
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  let flags: FetchFlags;
  try {
    flags = parseFetchFlags(argv);
  } catch (e) {
    process.stderr.write(`fetch-model: ${(e as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  try {
    const r = await fetchModel({
      uri: flags.uri,
      sha256: flags.sha256,
      out: flags.out,
      pvcRoot: flags["pvc-root"],
      configMapRoot: flags["configmap-root"],
      maxBytes: flags["max-bytes"],
      timeoutMs: flags["timeout-ms"],
      allowHttp: flags["allow-http"] === "true",
    });
    process.stdout.write(`${JSON.stringify({ fetched: true, bytes: r.bytes, sha256: r.sha256 })}\n`);
    return EXIT.ok;
  } catch (e) {
    const code = e instanceof FetchError ? e.code : "FetchFailed";
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`fetch-model: ${code}: ${message}\n`);
    leaveTerminationMessage(flags["termination-log"], code, message);
    return EXIT.failure;
  }
}
