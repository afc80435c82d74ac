import { describe, expect, it } from "vitest";
import { findCondition } from "../runtime/index.ts";
import { type AdmissionSpec, refusals, refusedDecision } from "./admission.ts";
import type { DecisionStatus } from "./types.ts";

const LISTS = {
  imagePrefixes: ["ghcr.io/medmlops/medmlops:", "ghcr.io/medmlops/medmlops@sha256:"],
  keySecrets: ["medmlops-deid-key"],
  caseIdKeySecrets: ["medmlops-case-id-key"],
  modelClaims: ["models"],
};
const spec = (over: Partial<AdmissionSpec> = {}): AdmissionSpec => ({
  serving: { caseIdKeySecretRef: { name: "medmlops-case-id-key" } },
  deid: { keySecretRef: { name: "medmlops-deid-key" } },
  versions: [{ name: "v1", source: { uri: "https://models.example/m.onnx" } }],
  ...over,
});

describe("refusals (the chart's admission rules)", () => {
  it("accepts what the chart's policy admits", () => {
    expect(refusals(spec(), LISTS)).toEqual([]);
    expect(refusals(spec({ serving: { image: "ghcr.io/medmlops/medmlops:0.1.0-cuda" } }), LISTS)).toEqual([]);
    expect(
      refusals(spec({ versions: [{ name: "v1", source: { uri: "pvc://models/chest/v1.onnx" } }] }), LISTS),
    ).toEqual([]);
  });

  it("names each refused field and rule, never the value", () => {
    const r = refusals(
      {
        serving: { image: "evil.example/miner:latest", caseIdKeySecretRef: { name: "payroll" } },
        deid: { keySecretRef: { name: "someone-elses" } },
        versions: [
          { name: "v1", source: { uri: "pvc://payroll/m.onnx" } },
          { name: "v2", source: { uri: "pvc://modelsX/m.onnx" } },
        ],
      },
      LISTS,
    );
    expect(r.map((x) => x.field)).toEqual([
      "spec.serving.image",
      "spec.deid.keySecretRef",
      "spec.serving.caseIdKeySecretRef",
      "spec.versions[v1].source.uri",
      "spec.versions[v2].source.uri",
    ]);
    expect(JSON.stringify(r)).not.toMatch(/evil|payroll|someone-elses|modelsX/);
  });

  it("spec.serving.tls: the certificate and the token Secret must each be allowed (--allowed-tls-secrets)", () => {
    const lists = { ...LISTS, tlsSecrets: ["chest-tls", "chest-token"] };
    const tls = (secretName: string, token?: string) =>
      spec({
        serving: {
          caseIdKeySecretRef: { name: "medmlops-case-id-key" },
          tls: { secretName, ...(token ? { tokenSecretRef: { name: token } } : {}) },
        },
      });
    expect(refusals(tls("chest-tls"), lists)).toEqual([]);
    expect(refusals(tls("chest-tls", "chest-token"), lists)).toEqual([]);
    const r = refusals(tls("payroll-tls", "payroll-token"), lists);
    expect(r.map((x) => x.field)).toEqual(["spec.serving.tls.secretName", "spec.serving.tls.tokenSecretRef"]);
    expect(r[0]!.rule).toContain("--allowed-tls-secrets");
    expect(JSON.stringify(r)).not.toMatch(/payroll/);
    expect(refusals(tls("chest-tls", "payroll-token"), lists).map((x) => x.field)).toEqual([
      "spec.serving.tls.tokenSecretRef",
    ]);
    // An empty list allows no TLS Secret; an unset list is not re-checked; no tls, nothing to check.
    expect(refusals(tls("chest-tls"), { tlsSecrets: [] }).map((x) => x.field)).toEqual([
      "spec.serving.tls.secretName",
    ]);
    expect(refusals(tls("payroll-tls"), LISTS)).toEqual([]);
    expect(refusals(spec(), { tlsSecrets: [] })).toEqual([]);
    // Without secretName the certificate is issued into the operator's own <model>-serving-tls: nothing to allow,
    // but a token Secret is still the author's choice and checked.
    const issued = (token?: string) =>
      spec({
        serving: {
          caseIdKeySecretRef: { name: "medmlops-case-id-key" },
          tls: token ? { tokenSecretRef: { name: token } } : {},
        },
      });
    expect(refusals(issued(), { tlsSecrets: [] })).toEqual([]);
    expect(refusals(issued("payroll-token"), lists).map((x) => x.field)).toEqual([
      "spec.serving.tls.tokenSecretRef",
    ]);
  });

  it("does not re-check without lists, nor a list left unset; an empty list allows none", () => {
    const bad = spec({ serving: { image: "evil.example/x:1" } });
    expect(refusals(bad, undefined)).toEqual([]);
    expect(refusals(bad, { keySecrets: ["medmlops-deid-key"] })).toEqual([]);
    expect(refusals(bad, { imagePrefixes: [] }).map((x) => x.field)).toEqual(["spec.serving.image"]);
  });
});

const previous: DecisionStatus = {
  conditions: [],
  activeVersion: "v1",
  versions: [],
  failover: { count: 0 },
  endpoint: "http://m.ns.svc/v2/models/m",
} as unknown as DecisionStatus;
const now = new Date("2026-12-05T05:00:00Z");
const refused = [{ field: "spec.serving.image", rule: "must start with one of the allowed prefixes" }];

describe("refusedDecision", () => {
  it("Ready False / Degraded True PolicyRefused, kstatus Stalled, one Warning Event, no control", () => {
    const d = refusedDecision({ previous, refusals: refused, generation: 3, now });
    const ready = findCondition(d.status.conditions, "Ready")!;
    expect(ready).toMatchObject({ status: "False", reason: "PolicyRefused", observedGeneration: 3 });
    expect(ready.message).toContain("spec.serving.image");
    expect(findCondition(d.status.conditions, "Degraded")).toMatchObject({
      status: "True",
      reason: "PolicyRefused",
    });
    expect(findCondition(d.status.conditions, "Stalled")).toMatchObject({
      status: "True",
      reason: "PolicyRefused",
    });
    expect(d.status.activeVersion).toBe("v1");
    expect(d.events.map((e) => [e.type, e.reason])).toEqual([["Warning", "PolicyRefused"]]);
    expect(d.control).toBeUndefined();
    // The same refusal again: no second Event.
    const again = refusedDecision({ previous: d.status, refusals: refused, generation: 3, now });
    expect(again.events).toEqual([]);
  });

  it("the stop button still works while refused", () => {
    const stop = { reason: "Suspended", message: "inference stopped by safety-officer: recall" };
    const d = refusedDecision({ previous, refusals: refused, generation: 4, now, stop });
    expect(d.control).toEqual({ suspended: true, reason: stop.message });
    expect(findCondition(d.status.conditions, "Suspended")).toMatchObject({
      status: "True",
      reason: "Suspended",
    });
    expect(d.events.map((e) => e.reason)).toEqual(["PolicyRefused", "Suspended"]);
  });
});
