// The reason catalogue and the documentation agree: every reason the controller can write is explained in
// docs/medmodel.md (as `Reason`). Adding a reason without documenting it fails here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EVENT_REASON, FAILURE_REASON, REASON } from "./reasons.ts";

const docs = readFileSync(new URL("../../docs/medmodel.md", import.meta.url), "utf8");

describe("reason catalogue", () => {
  for (const [name, catalogue] of Object.entries({ REASON, FAILURE_REASON, EVENT_REASON })) {
    it(`documents every ${name} in docs/medmodel.md`, () => {
      const missing = Object.values(catalogue).filter((r) => !docs.includes(`\`${r}\``));
      expect(missing).toEqual([]);
    });
    it(`${name}: each key is its value (no typo between the two)`, () => {
      for (const [k, v] of Object.entries(catalogue)) expect(v).toBe(k);
    });
  }
});
