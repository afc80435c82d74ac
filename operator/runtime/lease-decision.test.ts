import { describe, expect, it } from "vitest";
import { decideLease, leadershipLost, observe } from "./lease-decision.ts";

const D = 15_000;
const held = { holderIdentity: "b", leaseDurationSeconds: 15, renewTime: "2026-01-01T00:00:00.000000Z" };

describe("decideLease", () => {
  it("creates a missing lease", () => {
    expect(
      decideLease({ lease: undefined, identity: "a", observation: undefined, nowMs: 0, leaseDurationMs: D }),
    ).toEqual({ action: "create" });
  });

  it("renews its own lease", () => {
    expect(
      decideLease({
        lease: { ...held, holderIdentity: "a" },
        identity: "a",
        observation: undefined,
        nowMs: 0,
        leaseDurationMs: D,
      }).action,
    ).toBe("renew");
  });

  it("acquires a released lease (empty holder) at once", () => {
    expect(
      decideLease({
        lease: { ...held, holderIdentity: "" },
        identity: "a",
        observation: undefined,
        nowMs: 0,
        leaseDurationMs: D,
      }),
    ).toEqual({ action: "acquire", previousHolder: "" });
  });

  it("waits while another holder's record is fresh, measured from when we first saw it", () => {
    const obs = observe(undefined, held, 1_000);
    const out = decideLease({
      lease: held,
      identity: "a",
      observation: obs,
      nowMs: 5_000,
      leaseDurationMs: D,
    });
    expect(out).toEqual({ action: "wait", holder: "b", expiresInMs: 11_000 });
  });

  it("takes over once the record has not changed for the lease duration", () => {
    const obs = observe(undefined, held, 1_000);
    const same = observe(obs, held, 10_000);
    expect(same.observedAtMs).toBe(1_000);
    expect(
      decideLease({ lease: held, identity: "a", observation: same, nowMs: 16_000, leaseDurationMs: D }),
    ).toEqual({
      action: "acquire",
      previousHolder: "b",
    });
  });

  it("a renewal by the holder restarts the expiry clock (clock skew does not matter)", () => {
    const obs = observe(undefined, held, 1_000);
    const renewed = { ...held, renewTime: "2020-01-01T00:00:00.000000Z" }; // a holder whose clock is far behind
    const obs2 = observe(obs, renewed, 14_000);
    expect(obs2.observedAtMs).toBe(14_000);
    const out = decideLease({
      lease: renewed,
      identity: "a",
      observation: obs2,
      nowMs: 16_000,
      leaseDurationMs: D,
    });
    expect(out.action).toBe("wait");
  });

  it("without a prior observation a held lease is never taken at once", () => {
    const out = decideLease({
      lease: held,
      identity: "a",
      observation: undefined,
      nowMs: 99_000,
      leaseDurationMs: D,
    });
    expect(out).toEqual({ action: "wait", holder: "b", expiresInMs: D });
  });

  it("uses the lease's own duration when set", () => {
    const short = { ...held, leaseDurationSeconds: 2 };
    const obs = observe(undefined, short, 0);
    expect(
      decideLease({ lease: short, identity: "a", observation: obs, nowMs: 2_000, leaseDurationMs: D }).action,
    ).toBe("acquire");
  });
});

describe("leadershipLost", () => {
  it("is lost once no renewal succeeded for the renew deadline", () => {
    expect(leadershipLost(0, 9_999, 10_000)).toBe(false);
    expect(leadershipLost(0, 10_000, 10_000)).toBe(true);
  });
});
