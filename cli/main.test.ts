import { afterEach, describe, expect, it, vi } from "vitest";
import { dispatch, helpText } from "./main.ts";
import type { Subcommand } from "./subcommands.ts";
import { subcommands } from "./subcommands.ts";

function fake(name: string, code: number, seen: string[][]): Subcommand {
  return {
    name,
    summary: `the ${name} command`,
    run: async (argv) => {
      seen.push(argv);
      return code;
    },
  };
}

describe("medmlops CLI dispatch", () => {
  afterEach(() => vi.restoreAllMocks());

  it("lists every registered subcommand in the help", () => {
    const text = helpText();
    for (const s of subcommands) expect(text).toContain(s.name);
    expect(subcommands.map((s) => s.name)).toEqual(expect.arrayContaining(["operator", "sidecar", "deid"]));
  });

  it("passes the remaining arguments to the chosen subcommand and returns its exit code", async () => {
    const seen: string[][] = [];
    const code = await dispatch(["b", "--x", "1"], [fake("a", 0, seen), fake("b", 7, seen)]);
    expect(code).toBe(7);
    expect(seen).toEqual([["--x", "1"]]);
  });

  it("prints help to stderr and exits 2 for an unknown subcommand", async () => {
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const code = await dispatch(["nope"], [fake("a", 0, [])]);
    expect(code).toBe(2);
    expect(String(err.mock.calls[0]?.[0])).toContain('unknown command "nope"');
  });

  it("exits 2 with no command and 0 for --help", async () => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    expect(await dispatch([], [fake("a", 0, [])])).toBe(2);
    expect(await dispatch(["--help"], [fake("a", 0, [])])).toBe(0);
    expect(String(out.mock.calls[0]?.[0])).toContain("Usage: medmlops");
  });
});
