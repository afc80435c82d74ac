/**
 * Our own kinds as the runtime addresses them (group, version, kind, plural), derived from the API in crds/ — the
 * one place the names live. Every controller takes the kinds it reconciles or watches from here, so a controller
 * never imports a sibling controller just to learn how to address its kind.
 */
import { GROUP, type KindName, kinds, VERSION } from "../crds/index.ts";
import type { GVK } from "./runtime/index.ts";

function gvkOf(kind: KindName): GVK {
  const info = kinds.find((k) => k.kind === kind);
  if (!info) throw new Error(`crds: no kind ${kind}`);
  // Every MedMLOps kind is namespaced (crds/gen/crd.ts writes scope: Namespaced).
  return { group: GROUP, version: VERSION, kind: info.kind, plural: info.plural };
}

export const MedModelKind: GVK = gvkOf("MedModel");
export const ValidationPolicyKind: GVK = gvkOf("ValidationPolicy");
export const RetrainJobKind: GVK = gvkOf("RetrainJob");
export const ConsentRecordKind: GVK = gvkOf("ConsentRecord");

/** All four, by kind name. */
export const OurKinds: Readonly<Record<KindName, GVK>> = {
  MedModel: MedModelKind,
  ValidationPolicy: ValidationPolicyKind,
  RetrainJob: RetrainJobKind,
  ConsentRecord: ConsentRecordKind,
};
