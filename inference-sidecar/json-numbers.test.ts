import { describe, expect, it } from "vitest";
import { mulberry32 } from "../test/support/mulberry32.ts";
import { cutDataArrays, PLACEHOLDER, parseFloat32Array } from "./json-numbers.ts";
import { isOwned, ownedPool } from "./owned-buffers.ts";
import { parseInferRequest } from "./protocol.ts";
import { Signature } from "./signature.ts";

/** What the ordinary path gives: JSON.parse, then into a Float32Array. */
const reference = (text: string) => Float32Array.from(JSON.parse(text) as number[]);

function fast(text: string, expected?: number) {
  const b = Buffer.from(text);
  return parseFloat32Array(b, 0, b.length, expected ?? (JSON.parse(text) as unknown[]).length);
}

/** Numbers printed the ways JSON clients print them. */
function randomNumberTexts(seed: number, n: number): string[] {
  const r = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const kind = Math.floor(r() * 9);
    const f32 = Math.fround((r() - 0.5) * 10 ** Math.floor(r() * 12 - 6));
    const f64 = (r() - 0.5) * 10 ** Math.floor(r() * 80 - 40);
    switch (kind) {
      case 0:
        out.push(String(f32)); // float32 printed as a double (numpy tolist + json.dumps)
        break;
      case 1:
        out.push(String(f64)); // any double, exponent notation included
        break;
      case 2:
        out.push(f32.toPrecision(1 + Math.floor(r() * 9))); // short forms, may use e+/e-
        break;
      case 3:
        out.push(String(Math.floor((r() - 0.5) * 2 ** 40))); // integers
        break;
      case 4:
        out.push(f32.toExponential(Math.floor(r() * 12)).replace("e+", r() < 0.5 ? "E" : "e+"));
        break;
      case 5:
        out.push(`${(r() * 100).toFixed(Math.floor(r() * 25))}`); // long fractions, leading zeros
        break;
      case 6: {
        // Exactly between two float32 values: the rounding boundary the guard must catch.
        const a = Math.fround(r() * 1000);
        const next = new Float32Array([a]);
        new Uint32Array(next.buffer)[0]! += 1;
        out.push(String((a + (next[0] as number)) / 2));
        break;
      }
      case 7:
        out.push(
          ["0", "-0", "0.0", "1e-45", "1e39", "-1e39", "3.4028235e38", "1e-400", "1e400"][
            Math.floor(r() * 9)
          ] as string,
        );
        break;
      default:
        out.push(String(Math.fround(r())));
    }
  }
  return out;
}

describe("parseFloat32Array", () => {
  it("equals JSON.parse → Float32Array for 60 000 numbers printed every common way", () => {
    for (let seed = 1; seed <= 6; seed++) {
      const nums = randomNumberTexts(seed, 10_000);
      const text = `[${nums.join(seed % 2 ? "," : " , ")}]`;
      const got = fast(text);
      expect(got).toBeInstanceOf(Float32Array);
      const want = reference(text);
      const g = got as Float32Array;
      for (let i = 0; i < want.length; i++) {
        if (!Object.is(g[i], want[i])) expect(`${nums[i]} → ${g[i]}`).toBe(`${nums[i]} → ${want[i]}`);
      }
    }
  });

  it("keeps whitespace, negative zero and an empty array as JSON does", () => {
    expect(fast("[ 1 ,\n2\t, -0 ]")).toEqual(new Float32Array([1, 2, -0]));
    expect(Object.is((fast("[-0]") as Float32Array)[0], -0)).toBe(true);
    expect(fast("[]", 0)).toEqual(new Float32Array(0));
  });

  it("returns the element count when it is not the expected one", () => {
    expect(fast("[1,2,3]", 4)).toBe(3);
    expect(fast("[1,2,3,4,5]", 4)).toBe(5);
  });

  it("reads large arrays into owned memory (moved to the worker, not copied), reusing what a miss gave back", () => {
    const n = 40_000;
    const text = JSON.stringify(Array.from({ length: n }, (_, i) => i / 7));
    expect(fast(text, n + 1)).toBe(n); // a miss: its buffer goes back to the pool …
    const held = ownedPool.bytes;
    expect(held).toBeGreaterThanOrEqual(n * 4);
    const got = fast(text, n) as Float32Array;
    expect(ownedPool.bytes).toBeLessThan(held); // … and the next read takes it
    expect(isOwned(got.buffer)).toBe(true);
    expect(got).toEqual(reference(text));
  });

  it.each([
    "[01]",
    "[1.]",
    "[.5]",
    "[+1]",
    "[1e]",
    "[1,,2]",
    "[1,]",
    "[--1]",
    "[1 2]",
    "[0x10]",
    "[1e+]",
    "[NaN]",
  ])("refuses %s (not JSON): the caller falls back to JSON.parse and its error", (text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(fast(text, 1)).toBeUndefined();
  });
});

describe("cutDataArrays", () => {
  it("cuts only flat numeric arrays that are the value of a data key", () => {
    const text = JSON.stringify({
      id: 'say "data":[1,2] in a string',
      inputs: [
        { name: "a", data: [1, 2, 3] },
        {
          name: "b",
          data: [
            [1, 2],
            [3, 4],
          ],
        },
        { name: "c", data: ["x"] },
        { name: "data", parameters: { data: [5] } },
      ],
    });
    const { text: skeleton, spans } = cutDataArrays(Buffer.from(text), 0, text.length);
    expect(spans).toHaveLength(2); // inputs[0].data and parameters.data
    const parsed = JSON.parse(skeleton);
    expect(parsed.id).toBe('say "data":[1,2] in a string');
    expect(parsed.inputs[0].data).toBe(`${PLACEHOLDER}0`);
    expect(parsed.inputs[1].data).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(parsed.inputs[2].data).toEqual(["x"]);
    expect(parsed.inputs[3].parameters.data).toBe(`${PLACEHOLDER}1`);
    expect(text.slice(...(spans[0] as [number, number]))).toBe("[1,2,3]");
  });
});

describe("JSON infer requests through the fast lane", () => {
  const sig = Signature.parse({
    inputs: [
      { name: "x", datatype: "FP32", shape: [-1, 4] },
      { name: "k", datatype: "INT64", shape: [-1, 2] },
    ],
    outputs: [{ name: "y", datatype: "FP32", shape: [-1, 1] }],
  });
  const parse = (o: unknown) => parseInferRequest(Buffer.from(JSON.stringify(o)), undefined, sig);

  it("reads FP32 data fast and other datatypes exactly, as before", () => {
    const req = parse({
      inputs: [
        { name: "x", datatype: "FP32", shape: [1, 4], data: [0.1, -2.5e-3, 3, 0.26100000739097595] },
        { name: "k", datatype: "INT64", shape: [1, 2], data: [1099511627776, -4] },
      ],
    });
    expect(req.inputs.get("x")?.data).toEqual(new Float32Array([0.1, -2.5e-3, 3, 0.26100000739097595]));
    expect(req.inputs.get("k")?.data).toEqual(new BigInt64Array([1099511627776n, -4n]));
  });

  it("names the input and the counts when the data does not fit the shape", () => {
    expect(() =>
      parse({
        inputs: [
          { name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3] },
          { name: "k", datatype: "INT64", shape: [1, 2], data: [1, 2] },
        ],
      }),
    ).toThrow(/input "x": shape \[1,4\] needs 4 elements, got 3/);
  });

  it("answers INVALID_JSON for a malformed number inside data", () => {
    const body = Buffer.from(
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,03,4]},{"name":"k","datatype":"INT64","shape":[1,2],"data":[1,2]}]}',
    );
    expect(() => parseInferRequest(body, undefined, sig)).toThrow(
      expect.objectContaining({ code: "INVALID_JSON" }),
    );
  });

  it("parses the whole request when a placeholder-like string is sent", () => {
    const req = parse({
      id: "x",
      parameters: { data: [7] },
      inputs: [
        { name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] },
        { name: "k", datatype: "INT64", shape: [1, 2], data: [1, 2] },
      ],
    });
    expect(req.inputs.get("x")?.data).toEqual(new Float32Array([1, 2, 3, 4]));
  });
});
