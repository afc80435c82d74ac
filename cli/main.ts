import { type Subcommand, subcommands } from "./subcommands.ts";
import { EXIT } from "../common/exit-codes.ts";

export function helpText(list: Subcommand[] = subcommands): string {
  const width = Math.max(...list.map((s) => s.name.length));
  const lines = list.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`);
  return [
    "Usage: medmlops <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `medmlops <command> --help` for the options of one command.",
    "Exit codes: 0 success, 1 runtime failure, 2 usage error, 3 some input quarantined (deid).",
    "",
  ].join("\n");
}

export async function dispatch(argv: string[], list: Subcommand[] = subcommands): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(helpText(list));
    return EXIT.usage;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(helpText(list));
    return EXIT.ok;
  }
  const command = list.find((s) => s.name === name);
  if (!command) {
    process.stderr.write(`medmlops: unknown command "${name}"\n\n${helpText(list)}`);
    return EXIT.usage;
  }
  return command.run(rest);
}

/** Runs the CLI for this process: called by bin/medmlops.js. */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await dispatch(argv);
  } catch (err: unknown) {
    // Errors here must never carry PHI: subcommands throw messages built from field names, not values.
    process.stderr.write(`medmlops: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failure;
  }
}
