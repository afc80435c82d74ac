import { describe, expect, it } from "vitest";
import { controllerOf, ownerKey, ownerReference } from "./owner.ts";
import { Kinds } from "./gvk.ts";
import type { GVK } from "./types.ts";

const MedModel: GVK = { group: "medmlops.io", version: "v1alpha1", kind: "MedModel", plural: "medmodels" };
const owner = {
  apiVersion: "medmlops.io/v1alpha1",
  kind: "MedModel",
  metadata: { name: "chest", namespace: "rad", uid: "u-1" },
};

describe("owner references", () => {
  it("makes a controller owner reference that blocks owner deletion", () => {
    expect(ownerReference(owner)).toEqual({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "MedModel",
      name: "chest",
      uid: "u-1",
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it("refuses an owner without uid (not read from the API server)", () => {
    expect(() => ownerReference({ ...owner, metadata: { name: "chest" } })).toThrow(/uid/);
  });

  it("maps a child to its controlling owner's key, in the child's namespace", () => {
    const child = {
      metadata: {
        name: "chest-v1",
        namespace: "rad",
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: "1" },
          { ...ownerReference(owner) },
        ],
      },
    };
    expect(controllerOf(child)?.name).toBe("chest");
    expect(ownerKey(child, MedModel)).toEqual({ namespace: "rad", name: "chest" });
  });

  it("ignores non-controller refs, other kinds and other groups", () => {
    const notController = {
      metadata: { namespace: "rad", ownerReferences: [{ ...ownerReference(owner), controller: false }] },
    };
    expect(ownerKey(notController, MedModel)).toBeUndefined();
    const otherGroup = {
      metadata: {
        namespace: "rad",
        ownerReferences: [{ ...ownerReference(owner), apiVersion: "other.io/v1" }],
      },
    };
    expect(ownerKey(otherGroup, MedModel)).toBeUndefined();
    const rsOwned = {
      metadata: {
        namespace: "rad",
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "Deployment", name: "d", uid: "1", controller: true },
        ],
      },
    };
    expect(ownerKey(rsOwned, MedModel)).toBeUndefined();
    expect(ownerKey(rsOwned, Kinds.Deployment)).toEqual({ namespace: "rad", name: "d" });
    expect(ownerKey({}, MedModel)).toBeUndefined();
    // Same API group, other kind: four controllers share medmlops.io, so a child of a ValidationPolicy named like
    // a model must not wake the MedModel controller for that model.
    const policyOwned = {
      metadata: {
        namespace: "rad",
        ownerReferences: [{ ...ownerReference(owner), kind: "ValidationPolicy" }],
      },
    };
    expect(ownerKey(policyOwned, MedModel)).toBeUndefined();
  });
});
