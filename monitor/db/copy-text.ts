/**
 * PostgreSQL's COPY text format (one row a line, columns separated by a tab, `\N` for NULL): what
 * `Queryable.copyIn` sends. Pure; no I/O.
 *
 * A value is written as its text form: a string as is, a number or boolean by String(), an object or array as
 * JSON (for jsonb columns), null/undefined as NULL. Backslash, tab, newline and carriage return are escaped with
 * a backslash, so no value can end a field or a row early, and a string "\N" stays that string.
 */
export type CopyValue = string | number | boolean | object | null | undefined;

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

function escapeText(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : s;
}

/** One field's text. Numbers must be finite (COPY would read "NaN"/"Infinity" as float8 values a jsonb refuses). */
export function copyField(v: CopyValue): string {
  if (v === null || v === undefined) return "\\N";
  switch (typeof v) {
    case "string":
      return escapeText(v);
    case "number":
      if (!Number.isFinite(v)) throw new RangeError("COPY text: a number must be finite");
      return String(v);
    case "boolean":
      return v ? "t" : "f";
    default:
      return escapeText(JSON.stringify(v));
  }
}

/** Rows → COPY text (every row ends with a newline). */
export function copyText(rows: Iterable<readonly CopyValue[]>): string {
  let out = "";
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      if (i > 0) out += "\t";
      out += copyField(row[i]);
    }
    out += "\n";
  }
  return out;
}
