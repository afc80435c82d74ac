import { describe, expect, it } from "vitest";
import { availability, fullyHealthy, phaseOf } from "./health.ts";
import { ready } from "./test-support.ts";

describe("availability", () => {
  const now = 100_000;
  it.each([
    ["ready replicas", ready(1), undefined, undefined],
    ["no Deployment yet", undefined, undefined, undefined],
    ["unready, since unknown", ready(0), undefined, undefined],
    ["unready 4s of 10s", ready(0, { unavailableSince: now - 4000 }), undefined, 6000],
    ["unready 10s of 10s", ready(0, { unavailableSince: now - 10_000 }), "Unavailable", undefined],
    ["crash looping", ready(1, { crashLooping: true }), "CrashLoopBackOff", undefined],
    [
      "digest mismatch",
      ready(0, { failure: { reason: "DigestMismatch", message: "sha256 differs" } }),
      "DigestMismatch",
      undefined,
    ],
  ])("%s", (_name, h, reason, recheck) => {
    const a = availability(h, 10_000, now);
    expect(a.problem?.reason).toBe(reason);
    expect(a.recheckAfterMs).toBe(recheck);
  });
});

describe("fullyHealthy", () => {
  it.each([
    [ready(2), 2, true],
    [ready(3), 2, true],
    [ready(1), 2, false],
    [ready(2, { crashLooping: true }), 2, false],
    [ready(2, { exists: false }), 2, false],
    [ready(0), 0, false],
    [undefined, 1, false],
  ])("%j wanting %i → %s", (h, n, expected) => expect(fullyHealthy(h, n)).toBe(expected));
});

describe("phaseOf", () => {
  it.each([
    [undefined, 1, "Pending"],
    [ready(0, { exists: false }), 1, "Pending"],
    [ready(0), 1, "Pending"],
    [ready(0, { pods: 1 }), 1, "Loading"],
    [ready(1), 2, "Ready"],
    [ready(1), 0, "Retired"],
    [ready(1, { crashLooping: true }), 1, "Failed"],
    [ready(0, { failure: { reason: "FetchFailed", message: "404" } }), 0, "Failed"],
  ])("%j with %i planned → %s", (h, planned, phase) => expect(phaseOf(h, planned).phase).toBe(phase));
  it("says why a version failed", () => {
    expect(phaseOf(ready(0, { failure: { reason: "DigestMismatch", message: "got abc" } }), 1).message).toBe(
      "DigestMismatch: got abc",
    );
  });
});
