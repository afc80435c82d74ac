/**
 * Fuzz: thousands of seeded mutations (bit flips, truncations, insertions, duplicated and zeroed ranges) of
 * files carrying planted identifiers, in every transfer syntax we write. The engine must never throw or hit an
 * internal error, and whenever it does produce an output, no planted identifier may be in it.
 */
import { describe, expect, it } from "vitest";
import { deidentify } from "./engine.ts";
import { DEFLATED, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, TEST_KEY } from "./testing/build.ts";
import { mutate, PLANTED, seedFile } from "./testing/fuzz-inputs.ts";
import { rng } from "./testing/random.ts";
import type { DeidOptionName } from "./types.ts";

const MUTATIONS = 4000;
const TIME_BUDGET_MS = 20_000;

describe("fuzz", () => {
  it(`${MUTATIONS} mutated files: never a crash, never an output with a planted identifier`, () => {
    const r = rng(20241);
    const seeds = [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE, DEFLATED].map(seedFile);
    // Clean* options keep free text and can only scrub identifiers the file itself names (a mutated name no
    // longer does), so the fuzz runs the options that never keep free text.
    const optionSets: DeidOptionName[][] = [
      [],
      ["RetainLongitudinalTemporalInformationModifiedDates", "RetainPatientCharacteristics"],
      ["RetainSafePrivate", "RetainUIDs", "RetainDeviceIdentity"],
    ];
    const started = Date.now();
    const outcomes: Record<string, number> = {};
    let n = 0;
    for (; n < MUTATIONS && Date.now() - started < TIME_BUDGET_MS; n++) {
      const seed = seeds[n % seeds.length] as Uint8Array;
      const input = mutate(seed, r);
      const options = optionSets[n % optionSets.length];
      let result: ReturnType<typeof deidentify>;
      try {
        result = deidentify(input, { key: TEST_KEY, options });
      } catch (err) {
        throw new Error(`mutation ${n} threw: ${String(err)}`);
      }
      const key = result.ok ? "ok" : result.code;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      expect(key, `mutation ${n}`).not.toBe("INTERNAL_ERROR");
      if (result.ok) {
        const text = Buffer.from(result.output).toString("latin1").toUpperCase();
        for (const p of PLANTED) expect(text.includes(p), `mutation ${n} leaked ${p}`).toBe(false);
      } else {
        for (const p of PLANTED) expect(result.reason.toUpperCase().includes(p)).toBe(false);
      }
    }
    expect(n).toBeGreaterThanOrEqual(1000);
    expect(outcomes.ok ?? 0).toBeGreaterThan(50);
  }, 60_000);
});
