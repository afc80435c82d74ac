// The Argo CD health checks (charts/medmlops/argocd/*.lua) run by a real Lua interpreter on status objects that
// pass the CRDs' own status schemas. Every check also runs on statuses the real controllers wrote:
// test/integration/argocd-health.test.ts (MedModel) and validationpolicy, retrain-run, consent-retrain.test.ts.
import { describe, expect, it } from "vitest";
import { ConsentRecordStatusSchema } from "../../crds/consentrecord.ts";
import { MedModelStatusSchema } from "../../crds/medmodel.ts";
import { RetrainJobStatusSchema } from "../../crds/retrainjob.ts";
import { ValidationPolicyStatusSchema } from "../../crds/validationpolicy.ts";
import { decide } from "../../operator/medmodel/decide.ts";
import { medModel } from "../../operator/medmodel/fixtures.ts";
import { gatedStatus } from "../../operator/medmodel/issued-tls.ts";
import { input } from "../../operator/medmodel/test-support.ts";
import { argoHealth } from "../support/argocd-health.ts";

const T = "2026-12-04T12:00:00Z";
const cond = (type: string, status: boolean, reason = "Because", message = `${type} ${status}`) => ({
  type,
  status: status ? "True" : "False",
  reason,
  message,
  lastTransitionTime: T,
  observedGeneration: 3,
});
/** An object of `kind` at generation 3 whose status must pass the CRD's schema. */
function object(
  schema: { parse(v: unknown): unknown },
  status: Record<string, unknown> | undefined,
  generation = 3,
) {
  if (status !== undefined) schema.parse(status);
  return {
    apiVersion: "medmlops.io/v1alpha1",
    metadata: { name: "x", namespace: "n", generation },
    ...(status ? { status } : {}),
  };
}

describe("MedModel health", () => {
  const mm = (conditions: object[], generation = 3) =>
    argoHealth("MedModel", object(MedModelStatusSchema, { observedGeneration: 3, conditions }, generation));
  it.each([
    [
      "ready",
      [
        cond("Ready", true),
        cond("Progressing", false),
        cond("Degraded", false),
        cond("FailedOver", false),
        cond("Suspended", false),
      ],
      "Healthy",
    ],
    [
      "suspended (stop button)",
      [cond("Ready", false, "Suspended"), cond("Suspended", true, "Suspended", "vendor recall")],
      "Suspended",
    ],
    [
      "failed over",
      [
        cond("Ready", true),
        cond("FailedOver", true, "Unavailable", "serving v1 instead of v2"),
        cond("Degraded", true),
      ],
      "Degraded",
    ],
    ["degraded", [cond("Ready", true), cond("Degraded", true, "FailoverImpossible")], "Degraded"],
    [
      "canary",
      [cond("Ready", true), cond("Progressing", true, "CanaryInProgress", "canary of v2")],
      "Progressing",
    ],
    ["no ready replica", [cond("Ready", false, "Unavailable"), cond("Progressing", false)], "Degraded"],
    [
      "first load",
      [cond("Ready", false, "Unavailable"), cond("Progressing", true, "ScalingUp")],
      "Progressing",
    ],
  ])("%s → %s", (_, conditions, want) => {
    expect(mm(conditions).status).toBe(want);
  });
  it("issued certificates: pending is Progressing, nothing to issue with is Degraded (statuses the operator builds)", () => {
    const base = decide(input({ spec: medModel().spec as never })).status;
    const held = (reason: "CertificatePending" | "CertificateUnavailable") =>
      argoHealth(
        "MedModel",
        object(MedModelStatusSchema, {
          ...gatedStatus(
            base,
            { serve: "hold", pending: { reason, message: `${reason}: m` } },
            3,
            new Date(T),
          ),
          observedGeneration: 3,
        }),
      );
    expect(held("CertificatePending")).toEqual({ status: "Progressing", message: "CertificatePending: m" });
    expect(held("CertificateUnavailable")).toEqual({
      status: "Degraded",
      message: "CertificateUnavailable: m",
    });
  });
  it("suspension wins over failover; the message says why", () => {
    const h = mm([cond("Suspended", true, "Suspended", "vendor recall"), cond("FailedOver", true)]);
    expect(h).toEqual({ status: "Suspended", message: "vendor recall" });
  });
  it("no status, or a status behind the spec, is Progressing", () => {
    expect(argoHealth("MedModel", object(MedModelStatusSchema, undefined)).status).toBe("Progressing");
    expect(mm([cond("Ready", true)], 4)).toEqual({
      status: "Progressing",
      message: "Waiting for the operator to observe generation 4",
    });
  });
});

describe("ValidationPolicy health", () => {
  const vp = (conditions: object[]) =>
    argoHealth(
      "ValidationPolicy",
      object(ValidationPolicyStatusSchema, { observedGeneration: 3, conditions }),
    );
  it.each([
    [
      "within criteria",
      [cond("Ready", true), cond("Breached", false), cond("DriftDetected", false)],
      "Healthy",
    ],
    ["breached", [cond("Ready", true), cond("Breached", true, "SensitivityBelowMinimum")], "Degraded"],
    ["drift", [cond("Ready", true), cond("DriftDetected", true, "PSIAboveThreshold")], "Degraded"],
    [
      "too few cases",
      [cond("Ready", false, "InsufficientData"), cond("InsufficientData", true)],
      "Progressing",
    ],
    ["monitor unreachable", [cond("Ready", false, "MonitorUnavailable")], "Degraded"],
  ])("%s → %s", (_, conditions, want) => {
    expect(vp(conditions).status).toBe(want);
  });
});

describe("RetrainJob health", () => {
  it.each([
    ["Pending", "Progressing"],
    ["PreparingData", "Progressing"],
    ["Training", "Progressing"],
    ["Evaluating", "Progressing"],
    ["AwaitingApproval", "Suspended"],
    ["Succeeded", "Healthy"],
    ["Failed", "Degraded"],
    ["Rejected", "Degraded"],
  ])("%s → %s", (phase, want) => {
    expect(
      argoHealth("RetrainJob", object(RetrainJobStatusSchema, { observedGeneration: 3, phase })).status,
    ).toBe(want);
  });
  it("no phase yet is Progressing", () => {
    expect(argoHealth("RetrainJob", object(RetrainJobStatusSchema, undefined)).status).toBe("Progressing");
  });
});

describe("ConsentRecord health", () => {
  const cr = (conditions: object[]) =>
    argoHealth("ConsentRecord", object(ConsentRecordStatusSchema, { observedGeneration: 3, conditions }));
  it("Enforced → Healthy, not enforced → Degraded, none yet → Progressing", () => {
    expect(cr([cond("Enforced", true)]).status).toBe("Healthy");
    expect(cr([cond("Enforced", false, "MonitorUnavailable", "erasure pending")])).toEqual({
      status: "Degraded",
      message: "erasure pending",
    });
    expect(cr([]).status).toBe("Progressing");
  });
});
