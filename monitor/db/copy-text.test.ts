import { describe, expect, it } from "vitest";
import { copyField, copyText } from "./copy-text.ts";

describe("COPY text format", () => {
  it("writes NULL, booleans, numbers, strings and JSON as PostgreSQL's text COPY reads them", () => {
    expect(copyField(null)).toBe("\\N");
    expect(copyField(undefined)).toBe("\\N");
    expect(copyField(true)).toBe("t");
    expect(copyField(false)).toBe("f");
    expect(copyField(0.1)).toBe("0.1");
    expect(copyField(-1e-7)).toBe("-1e-7");
    expect(copyField("")).toBe("");
    expect(copyField({ "image:mean": 1.5 })).toBe('{"image:mean":1.5}');
  });

  it("escapes backslash, tab, newline and carriage return so no value ends a field or row, and \\N stays text", () => {
    expect(copyField("a\\b\tc\nd\re")).toBe("a\\\\b\\tc\\nd\\re");
    expect(copyField("\\N")).toBe("\\\\N");
    // JSON's own escapes are backslashes too: doubled, so jsonb_in sees the JSON text unchanged
    expect(copyField({ m: 'say "hi"\n' })).toBe('{"m":"say \\\\"hi\\\\"\\\\n"}');
    expect(
      copyText([
        ["a", null, 1],
        ["\t", true, { x: 1 }],
      ]),
    ).toBe('a\t\\N\t1\n\\t\tt\t{"x":1}\n');
  });

  it("refuses a number that is not finite", () => {
    expect(() => copyField(Number.NaN)).toThrow(RangeError);
    expect(() => copyField(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
