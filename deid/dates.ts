/**
 * Date shifting for Retain Longitudinal Temporal Information with Modified Dates: every DA and DT moves by the
 * patient's day offset; times of day (TM, and the time part of DT) stay, since a whole-day shift leaves them
 * intact. Partial dates keep their precision. A value we cannot parse is reported so the caller can blank it.
 */

const DAY_MS = 86_400_000;

function shiftYmd(y: number, m: number, d: number, days: number): [number, number, number] {
  const t = Date.UTC(y, m - 1, d) + days * DAY_MS;
  const dt = new Date(t);
  return [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");

/** Shifts one DA value (YYYYMMDD, or the old YYYY.MM.DD form). Returns undefined when not a valid date. */
export function shiftDa(value: string, days: number): string | undefined {
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
  const [ny, nm, nd] = shiftYmd(y, mo, d, days);
  if (ny < 0 || ny > 9999) return undefined;
  return `${pad(ny, 4)}${pad(nm, 2)}${pad(nd, 2)}`;
}

/** Shifts one DT value, keeping its precision, time of day and UTC offset. */
export function shiftDt(value: string, days: number): string | undefined {
  const m = /^(\d{4})(\d{2})?(\d{2})?([0-9.]*)([+-]\d{4})?$/.exec(value);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = m[2] === undefined ? 1 : Number(m[2]);
  const d = m[3] === undefined ? 1 : Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
  if (m[3] === undefined && m[4]) return undefined;
  const [ny, nm, nd] = shiftYmd(y, mo, d, days);
  if (ny < 0 || ny > 9999) return undefined;
  let out = pad(ny, 4);
  if (m[2] !== undefined) out += pad(nm, 2);
  if (m[3] !== undefined) out += pad(nd, 2);
  return out + (m[4] ?? "") + (m[5] ?? "");
}

/** Shifts each backslash-separated value; undefined if any value is not a date. Empty values stay empty. */
export function shiftMulti(value: string, vr: "DA" | "DT", days: number): string | undefined {
  const parts = value.split("\\").map((v) => v.trim());
  const out: string[] = [];
  for (const p of parts) {
    if (p === "") {
      out.push("");
      continue;
    }
    const s = vr === "DA" ? shiftDa(p, days) : shiftDt(p, days);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out.join("\\");
}
