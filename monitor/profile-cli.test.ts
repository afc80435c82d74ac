import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "./profile-cli.ts";
import { ReferenceProfileSchema } from "./stats/index.ts";
import { syntheticCases } from "./testing/records.ts";

const dir = mkdtempSync(join(tmpdir(), "medmlops-profile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("medmlops monitor profile", () => {
  const cases = syntheticCases({ n: 500, start: new Date("2026-01-01T00:00:00Z") });
  const ndjson = `${cases.map((c) => JSON.stringify(c.record)).join("\n")}\n`;

  it("writes a valid profile with every feature of the records", async () => {
    writeFileSync(join(dir, "ok.ndjson"), ndjson);
    expect(await main(["--records", join(dir, "ok.ndjson"), "--out", join(dir, "p.json")])).toBe(0);
    const profile = ReferenceProfileSchema.parse(JSON.parse(readFileSync(join(dir, "p.json"), "utf8")));
    expect(profile.n).toBe(500);
    expect(profile.features["input:image:f0"]?.kind).toBe("numeric");
    expect(profile.features["metadata:Manufacturer"]).toEqual({
      kind: "categorical",
      counts: { GE: 250, Siemens: 250 },
    });
    expect(profile.features["output:score:pneumothorax"]?.kind).toBe("numeric");
  });

  it("fails on an invalid line unless told to skip it, and never writes a partial profile", async () => {
    writeFileSync(join(dir, "bad.ndjson"), `${ndjson}{"time": "x"}\nnot json\n`);
    expect(await main(["--records", join(dir, "bad.ndjson"), "--out", join(dir, "bad.json")])).toBe(1);
    expect(() => readFileSync(join(dir, "bad.json"))).toThrow();
    expect(
      await main(["--records", join(dir, "bad.ndjson"), "--out", join(dir, "bad.json"), "--skip-invalid"]),
    ).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "bad.json"), "utf8")).n).toBe(500);
  });

  it("reports usage errors and unreadable input with their exit codes", async () => {
    expect(await main(["--out", join(dir, "x.json")])).toBe(2);
    expect(await main(["--records", join(dir, "missing.ndjson"), "--out", join(dir, "x.json")])).toBe(1);
  });
});
