import { describe, expect, it } from "vitest";
import { formatTerminationMessage } from "../fetch/errors.ts";
import { Kinds } from "../runtime/index.ts";
import { MemoryCache } from "../runtime/testing/memory-cache.ts";
import { medModel } from "./fixtures.ts";
import { gather, observeVersion, UnavailableMemos } from "./observe.ts";

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

describe("gather", () => {
  const model = medModel();
  const uid = model.metadata.uid!;
  const labels = (v: string) => ({ "medmlops.io/model": "chest", "medmlops.io/version": v });
  const deployment = (v: string, ownerUid: string) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: `chest-${v}`,
      namespace: "rad",
      labels: labels(v),
      ownerReferences: [
        {
          apiVersion: "medmlops.io/v1alpha1",
          kind: "MedModel",
          name: "chest",
          uid: ownerUid,
          controller: true,
        },
      ],
    },
    spec: { replicas: 1 },
  });
  const readyPod = (v: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `p-${v}`, namespace: "rad", labels: labels(v) },
    status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:05:00Z" }] },
  });

  it("reads the model's own Deployments, its pods by label, and the policies naming it", () => {
    const cache = new MemoryCache();
    cache.put(deployment("v1", uid));
    cache.put(readyPod("v1"));
    cache.put({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "ValidationPolicy",
      metadata: { name: "vp", namespace: "rad" },
      spec: { modelRef: { name: "chest" } },
      status: { results: [{ version: "v1", metrics: [{ pass: true }] }] },
    });
    const o = gather(cache, model, new UnavailableMemos(), NOW);
    expect(o.deployments.map((d) => d.metadata?.name)).toEqual(["chest-v1"]);
    expect(o.health["v1"]).toMatchObject({ exists: true, readyReplicas: 1 });
    expect(o.health["v2"]).toMatchObject({ exists: false, readyReplicas: 0 });
    expect(o.verdicts).toEqual({ v1: "Passed" });
  });

  it("does not count a Deployment another owner controls (a deleted model's leftover of the same name)", () => {
    const cache = new MemoryCache();
    cache.put(deployment("v1", "uid-of-an-older-chest"));
    const o = gather(cache, model, new UnavailableMemos(), NOW);
    expect(o.deployments).toEqual([]);
    expect(o.health["v1"]?.exists).toBe(false);
    expect(cache.list(Kinds.Deployment)).toHaveLength(1);
  });

  it("drops the unavailable memo of a version removed from the spec, and all of a forgotten model", () => {
    const cache = new MemoryCache();
    const memos = new UnavailableMemos();
    gather(cache, model, memos, NOW);
    expect(memos.size()).toBe(2);
    gather(
      cache,
      { ...model, spec: { ...model.spec, versions: model.spec.versions.slice(0, 1) } },
      memos,
      NOW,
    );
    expect(memos.size()).toBe(1);
    memos.forget({ namespace: "rad", name: "chest" });
    expect(memos.size()).toBe(0);
  });
});
