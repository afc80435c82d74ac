import { parseArgs } from "node:util";
import { z } from "zod";
import { EXIT } from "../cli/exit-codes.ts";
import { kinds } from "./index.ts";
import { crdYaml, crdStream } from "./gen/render.ts";
import { allCrds } from "./gen/crd.ts";

const HELP = `Usage: medmlops crds [--kind <Kind|plural|short name>]

Prints the MedMLOps CustomResourceDefinitions as YAML, e.g.
  medmlops crds | kubectl apply --server-side -f -

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
  try {
    const { values } = parseArgs({
      args: argv,
      options: { kind: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
    flags = FlagsSchema.parse(values);
  } catch (err) {
    process.stderr.write(`medmlops crds: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return EXIT.usage;
  }
  if (flags.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
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
