import { parseArgs } from "node:util";
import { z } from "zod";
import { EXIT } from "../common/exit-codes.ts";
import { kinds } from "./index.ts";
import { crdYaml, crdStream } from "./gen/render.ts";
import { allCrds } from "./gen/crd.ts";
import { validateManifests } from "./validate.ts";

const HELP = `Usage: medmlops crds [--kind <Kind|plural|short name>]
       medmlops crds validate <file|dir>...

Prints the MedMLOps CustomResourceDefinitions as YAML, e.g.
  medmlops crds | kubectl apply --server-side -f -

\`validate\` checks MedMLOps manifests offline with the API server's rules (schema and CEL) and
prints each problem with its field; exit 1 when any manifest is invalid. Other kinds are skipped.

Options:
  --kind <name>  print only one CRD (MedModel, vp, retrainjobs, consent, ...)
  -h, --help     show this help
`;

const FlagsSchema = z.object({
  kind: z.string().min(1).optional(),
  help: z.boolean().optional(),
});

/** Finds a kind by kind name, plural, singular or short name, case-insensitively. */
export function findKind(name: string) {
  const n = name.toLowerCase();
  return kinds.find(
    (k) =>
      k.kind.toLowerCase() === n ||
      k.plural === n ||
      k.singular === n ||
      (k.shortNames as readonly string[]).includes(n),
  );
}

export async function main(argv: string[]): Promise<number> {
  let flags: z.infer<typeof FlagsSchema>;
  let validatePaths: string[] | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { kind: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    flags = FlagsSchema.parse(values);
    if (positionals.length > 0) {
      if (positionals[0] !== "validate") throw new Error(`unexpected argument "${positionals[0]}"`);
      if (positionals.length < 2) throw new Error("validate needs at least one file or directory");
      validatePaths = positionals.slice(1);
    }
  } catch (err) {
    process.stderr.write(`medmlops crds: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return EXIT.usage;
  }
  if (flags.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (validatePaths) return runValidate(validatePaths);
  if (flags.kind === undefined) {
    process.stdout.write(crdStream());
    return EXIT.ok;
  }
  const info = findKind(flags.kind);
  const found = info && allCrds().find((c) => c.info.kind === info.kind);
  if (!found) {
    const known = kinds.map((k) => k.kind).join(", ");
    process.stderr.write(`medmlops crds: unknown kind "${flags.kind}" (known: ${known})\n`);
    return EXIT.usage;
  }
  process.stdout.write(crdYaml(found.crd));
  return EXIT.ok;
}

function runValidate(paths: string[]): number {
  let results: ReturnType<typeof validateManifests>;
  try {
    results = validateManifests(paths);
  } catch (err) {
    const code = (err as { code?: string }).code;
    process.stderr.write(
      `medmlops crds validate: ${code === "ENOENT" ? "no such file or directory" : String(err)}\n`,
    );
    return EXIT.usage;
  }
  let invalid = 0;
  for (const r of results) {
    if (r.skipped) continue;
    if (r.problems.length === 0) {
      process.stdout.write(`${r.file}: ${r.what}: valid\n`);
      continue;
    }
    invalid++;
    for (const p of r.problems) process.stdout.write(`${r.file}: ${r.what}: ${p}\n`);
  }
  const checked = results.filter((r) => !r.skipped).length;
  process.stderr.write(`${checked} manifest(s) checked, ${invalid} invalid\n`);
  return invalid > 0 ? EXIT.failure : EXIT.ok;
}
