import { z } from "zod";

/**
 * Postgres settings the embedded engine starts with (`-c name=value` after PGlite's own start parameters).
 * WebAssembly linear memory only grows: every page Postgres touches inside it stays resident for the life of
 * the process, so these bound what the monitor's RSS can grow to (docs/benchmarks.md, "Monitor memory").
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = { shared_buffers: "16MB" };

const NAME = /^[a-z_][a-z0-9_.]{0,62}$/;
const VALUE = /^[A-Za-z0-9._-]{1,32}$/;

export const PgliteSettings = z.record(
  z.string().regex(NAME, "a Postgres setting name"),
  z.string().regex(VALUE, "a plain value (letters, digits, . _ -)"),
);

/** `MEDMLOPS_PGLITE_SETTINGS`: `name=value,name=value` (e.g. `shared_buffers=32MB,work_mem=4MB`). */
export function parsePgliteSettings(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error("MEDMLOPS_PGLITE_SETTINGS: expected name=value[,name=value…]");
    const [name, value] = [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    // named checks first: zod's record reports a bad key only as "Invalid key in record"
    if (!NAME.test(name)) throw new Error("MEDMLOPS_PGLITE_SETTINGS: not a Postgres setting name");
    if (!VALUE.test(value))
      throw new Error("MEDMLOPS_PGLITE_SETTINGS: not a plain value (letters, digits, . _ -)");
    out[name] = value;
  }
  const parsed = PgliteSettings.safeParse(out);
  if (!parsed.success) {
    throw new Error(`MEDMLOPS_PGLITE_SETTINGS: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  }
  return parsed.data;
}

/** The settings as `-c name=value` start parameters. */
export function settingsStartParams(settings: Readonly<Record<string, string>>): string[] {
  return Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
}
