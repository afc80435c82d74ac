import { describe, expect, it } from "vitest";
import { formatTerminationMessage } from "../fetch/errors.ts";
import { observeVersion } from "./observe.ts";

const NOW = Date.parse("2026-01-01T00:10:00Z");
const dep = (replicas: number, available?: { status: string; at: string }) => ({
  metadata: { name: "m-v1" },
  spec: { replicas },
  status: available
    ? { conditions: [{ type: "Available", status: available.status, lastTransitionTime: available.at }] }
    : {},
});
const pod = (ready: boolean, extra: Record<string, unknown> = {}, readyAt = "2026-01-01T00:05:00Z") => ({
  metadata: { name: "p" },
  status: {
    conditions: [{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: readyAt }],
    ...extra,
  },
});

describe("observeVersion", () => {
  it("counts ready pods and the latest readiness", () => {
    const h = observeVersion(dep(2), [pod(true), pod(true, {}, "2026-01-01T00:07:00Z")], {}, NOW);
    expect(h).toEqual({
      exists: true,
      readyReplicas: 2,
      pods: 2,
      crashLooping: false,
      readySince: Date.parse("2026-01-01T00:07:00Z"),
    });
  });
  it("ignores terminating pods", () => {
    const terminating = { ...pod(true), metadata: { name: "p", deletionTimestamp: "2026-01-01T00:09:00Z" } };
    expect(observeVersion(dep(1), [terminating], {}, NOW).readyReplicas).toBe(0);
  });
  it("remembers since when nothing is ready, seeded by the Deployment's Available condition", () => {
    const memo = {};
    const a = observeVersion(
      dep(1, { status: "False", at: "2026-01-01T00:09:30Z" }),
      [pod(false)],
      memo,
      NOW,
    );
    expect(a.unavailableSince).toBe(Date.parse("2026-01-01T00:09:30Z"));
    const b = observeVersion(dep(1), [], memo, NOW + 5000);
    expect(b.unavailableSince).toBe(Date.parse("2026-01-01T00:09:30Z"));
    const c = observeVersion(dep(1), [pod(true)], memo, NOW + 6000);
    expect(c.unavailableSince).toBeUndefined();
    const d = observeVersion(dep(1), [], memo, NOW + 7000);
    expect(d.unavailableSince).toBe(NOW + 7000);
  });
  it("reads fetch-model's termination message as the failure", () => {
    const failing = pod(false, {
      initContainerStatuses: [
        {
          name: "fetch-model",
          state: { waiting: { reason: "CrashLoopBackOff" } },
          lastState: {
            terminated: { exitCode: 1, message: formatTerminationMessage("DigestMismatch", "differs") },
          },
        },
      ],
    });
    expect(observeVersion(dep(1), [failing], {}, NOW).failure).toEqual({
      reason: "DigestMismatch",
      message: "differs",
    });
  });
  it("forgets an old fetch failure once fetch-model succeeded", () => {
    const ok = pod(false, {
      initContainerStatuses: [
        {
          name: "fetch-model",
          state: { terminated: { exitCode: 0 } },
          lastState: { terminated: { exitCode: 1 } },
        },
      ],
    });
    expect(observeVersion(dep(1), [ok], {}, NOW).failure).toBeUndefined();
  });
  it("reports a crash loop only while too few pods are ready", () => {
    const looping = pod(false, {
      containerStatuses: [{ name: "sidecar", state: { waiting: { reason: "CrashLoopBackOff" } } }],
    });
    expect(observeVersion(dep(1), [looping], {}, NOW).crashLooping).toBe(true);
    expect(observeVersion(dep(3), [looping, pod(true), pod(true)], {}, NOW).crashLooping).toBe(false);
  });
  it("a missing Deployment does not exist and is not judged", () => {
    expect(observeVersion(undefined, [], {}, NOW)).toEqual({
      exists: false,
      readyReplicas: 0,
      pods: 0,
      crashLooping: false,
    });
  });
});
