/**
 * The controller runtime's public door. Controllers (operator/medmodel/, …) import only from here (and from
 * operator/kinds.ts and crds/). The reconcile toolkit every controller shares: OwnedChildren (apply with the
 * skip-unchanged memo, owner-filtered prune), StatusWriter, canonicalJson, setKstatusConditions.
 * Contract: types.ts. Register a controller factory in operator/controllers.ts.
 */
export type {
  ApplyOptions,
  Cache,
  Client,
  Condition,
  ControllerDeps,
  ControllerFactory,
  ControllerSpec,
  DeleteOptions,
  EventRecorder,
  EventType,
  GVK,
  KubeObject,
  ListOptions,
  ObjectKey,
  ObjectMeta,
  OperatorConfig,
  AdmissionAllowLists,
  ServingTlsIssuer,
  OwnerReference,
  ReconcileContext,
  ReconcileResult,
  Reconciler,
  Watch,
  CacheView,
} from "./types.ts";
export { FIELD_MANAGER, REPORTING_CONTROLLER } from "./types.ts";
export { Kinds, apiVersionOf, collectionPath, gvkId, keyOf, keyString, objectPath, parseKey } from "./gvk.ts";
export {
  type ConditionInput,
  findCondition,
  isConditionTrue,
  removeCondition,
  setCondition,
  toRfc3339,
} from "./conditions.ts";
export { controllerOf, ownerKey, ownerReference } from "./owner.ts";
export { type StatusWithGeneration, statusBody } from "./status.ts";
export { ApiError, isConflict, isGone, isNotFound } from "./rest.ts";
export { canonicalJson } from "./canonical-json.ts";
export { monitorOptions } from "./monitor-options.ts";
export { childDigest, childMark, controlledBy, listOwned, OwnedChildren } from "./owned-children.ts";
export { olderThan, StatusWriter } from "./status-writer.ts";
export { KSTATUS, type KstatusState, setKstatusConditions } from "./kstatus.ts";
export {
  MANAGED_BY_LABEL,
  MANAGED_BY_SELECTOR,
  MANAGED_PODS_VIEW,
  podMetadataAndStatus,
} from "./managed-pods.ts";
