export async function main(_argv: string[]): Promise<number> {
  process.stderr.write("medmlops monitor profile: planned (issue 12), not built yet\n");
  return 1;
}
