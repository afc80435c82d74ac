import { describe, expect, it } from "vitest";
import { statusBody } from "./status.ts";

const model = {
  apiVersion: "medmlops.io/v1alpha1",
  kind: "MedModel",
  metadata: { name: "chest", namespace: "rad", generation: 7, uid: "u", resourceVersion: "99" },
  spec: { a: 1 },
  status: { observedGeneration: 5, activeVersion: "v1" },
};

describe("statusBody", () => {
  it("stamps the current generation when the reconcile succeeded", () => {
    expect(statusBody(model, { activeVersion: "v2" }, { succeeded: true })).toEqual({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "MedModel",
      metadata: { name: "chest", namespace: "rad" },
      status: { activeVersion: "v2", observedGeneration: 7 },
    });
  });

  it("keeps the previously observed generation when it failed", () => {
    const body = statusBody(model, { activeVersion: "v1", observedGeneration: 7 }, { succeeded: false });
    expect(body.status.observedGeneration).toBe(5);
  });

  it("leaves observedGeneration out when there was none and the reconcile failed", () => {
    const fresh = { ...model, status: undefined };
    const body = statusBody(fresh, { activeVersion: "v1" }, { succeeded: false });
    expect("observedGeneration" in body.status).toBe(false);
  });
});
