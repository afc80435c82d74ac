import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../../bin/medmlops.js", import.meta.url));

// The real entry point as a user runs it (`npx medmlops`), through the process boundary.
describe("bin/medmlops.js", () => {
  it("--help lists the subcommands and exits 0", () => {
    const r = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    for (const name of ["operator", "sidecar", "deid"]) expect(r.stdout).toContain(`  ${name}`);
  });

  it("an unknown subcommand prints help to stderr and exits 2", () => {
    const r = spawnSync(process.execPath, [bin, "frobnicate"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stdout).toBe("");
  });
});
