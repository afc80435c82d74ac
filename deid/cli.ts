import { EXIT } from "../cli/exit-codes.ts";

// Placeholder until this room's issue lands; replaced by the real command.
export async function main(_argv: string[]): Promise<number> {
  process.stderr.write("not implemented yet\n");
  return EXIT.failure;
}
