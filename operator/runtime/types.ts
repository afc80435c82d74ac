/**
 * The contract between the controller runtime (operator/runtime/) and the controllers built on it
 * (operator/medmodel/, later validationpolicy/, retrainjob/, consentrecord/).
 *
 * A controller is a `ControllerSpec` built by a `ControllerFactory` from `ControllerDeps`; register the factory
 * in operator/controllers.ts. The runtime watches `for`, `owns` and `watches` kinds with informers, keeps them in
 * one shared read-only cache, and calls `reconciler.reconcile(key)` for the primary object's namespace/name —
 * level-triggered: it never says which event happened, read the cache and converge.
 *
 * Objects in the cache and returned by the client are PLAIN JSON as the API server sends it (timestamps are
 * RFC 3339 strings, unknown fields kept): the runtime does not pass them through client-node's ObjectSerializer.
 */
import type { Logger } from "pino";
import type { ClientTlsFiles } from "../../common/tls/client.ts";

/** A resource kind the runtime can watch and write. `plural` is the URL segment; `namespaced` defaults to true. */
export interface GVK {
  group: string; // "" for the core group
  version: string;
  kind: string;
  plural: string;
  namespaced?: boolean;
}

/** The work-queue key of a namespaced object (namespace "" for cluster-scoped ones). */
export interface ObjectKey {
  namespace: string;
  name: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [field: string]: unknown;
}

/** Any Kubernetes object as plain JSON. Narrow with your own interface: `cache.get<MedModel>(...)`. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

/** metav1.Condition. `lastTransitionTime` is RFC 3339 and changes only when `status` flips (see conditions.ts). */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ReconcileResult {
  /** Reconcile this key again after this delay even if nothing changes (canary pauses, unavailableAfter). */
  requeueAfterMs?: number;
}

export interface ReconcileContext {
  /** Aborted on shutdown or loss of leadership: pass to fetches and long waits. */
  signal: AbortSignal;
  /** Child logger already bound with controller, namespace and name. Never log PHI. */
  log: Logger;
  now: () => Date;
}

/**
 * Throwing (or rejecting) means failure: the key is retried with per-key exponential backoff (5 ms … 5 min) and
 * counted as `result="error"`. Returning means success: backoff for the key is reset.
 */
export interface Reconciler {
  reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult | undefined>;
}

export interface ListOptions {
  namespace?: string;
  /** Equality match on labels (all must match). */
  labels?: Record<string, string>;
}

/** Informer-backed, read-only view. Never mutate returned objects: copy (structuredClone) before editing. */
export interface Cache {
  get<T extends KubeObject = KubeObject>(gvk: GVK, key: ObjectKey): T | undefined;
  list<T extends KubeObject = KubeObject>(gvk: GVK, opts?: ListOptions): T[];
}

export interface ApplyOptions {
  /** Defaults to true: the operator owns what it applies, conflicts with other managers are overridden. */
  force?: boolean;
  /**
   * Another field manager than "medmlops-operator", for a write that must stay apart from everything else the
   * operator owns in that object (the RetrainJob controller appends a candidate version under its own manager).
   */
  fieldManager?: string;
}

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
}

/**
 * Writes go straight to the API server (not the cache). Server-side apply with field manager
 * "medmlops-operator": send the FULL desired object (apiVersion, kind, metadata.name/namespace, the fields you
 * own); fields you applied before and leave out are removed.
 */
export interface Client {
  apply<T extends KubeObject = KubeObject>(obj: T, opts?: ApplyOptions): Promise<T>;
  /** SSA on the /status subresource: obj = {apiVersion, kind, metadata: {name, namespace}, status}. */
  applyStatus<T extends KubeObject = KubeObject>(obj: T): Promise<T>;
  /** JSON merge patch on the main resource (e.g. finalizers, annotations you do not want to own by SSA). */
  mergePatch<T extends KubeObject = KubeObject>(gvk: GVK, key: ObjectKey, patch: object): Promise<T>;
  /** Live read bypassing the cache; undefined on 404. */
  get<T extends KubeObject = KubeObject>(gvk: GVK, key: ObjectKey): Promise<T | undefined>;
  /** Resolves false when the object was already gone. */
  delete(gvk: GVK, key: ObjectKey, opts?: DeleteOptions): Promise<boolean>;
}

export type EventType = "Normal" | "Warning";

/** events.k8s.io/v1 Events. `note` is for humans: never PHI (no DICOM values, patient names, IDs, dates). */
export interface EventRecorder {
  record(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void;
}

/**
 * What the shared cache keeps of one kind. The informer of a kind is shared by every controller, so all that
 * register the kind must ask for the same view (the runtime throws otherwise).
 */
export interface CacheView {
  /**
   * Server-side label selector for list and watch (e.g. "app.kubernetes.io/managed-by=medmlops"): the cache never
   * sees, and never holds, objects that do not carry it. An object that loses the label is reported as deleted.
   */
  labelSelector?: string;
  /**
   * Applied to every object before it is cached and handed to event handlers (after managedFields are dropped):
   * keep only what the controllers read, to bound memory. Must be pure and keep metadata.name, namespace,
   * resourceVersion and whatever the `map` functions read.
   */
  transform?: (obj: KubeObject) => KubeObject;
}

/** Extra kinds a controller reacts to, mapped to the primary keys they affect (e.g. Pods by label). */
export interface Watch extends CacheView {
  gvk: GVK;
  map: (obj: KubeObject) => ObjectKey[];
}

export interface ControllerSpec {
  /** Short stable name: metric label, log field, queue name. */
  name: string;
  /** The primary kind; its namespace/name is the work key. */
  for: GVK;
  /** Child kinds: an event on a child enqueues the owner named by its controller ownerReference of kind `for`. */
  owns?: GVK[];
  /**
   * Child kinds the cluster may not serve (e.g. Gateway API HTTPRoutes): the manager asks API discovery at start
   * and watches them like `owns` only when served — an informer on an unserved kind would never sync. Check
   * `deps.served(gvk)` before reading or writing them.
   */
  optionalOwns?: GVK[];
  /**
   * The cache view of every child kind (`owns` and `optionalOwns`). Its `labelSelector` must be carried by every
   * child: the informers then list and watch only those, so the cache does not hold every Deployment, Service
   * and ConfigMap of the cluster, and a child that loses the label looks deleted to the controller, which
   * re-applies it (and with it the label). Its `transform` sees every kind: switch on `obj.kind`.
   */
  ownedView?: CacheView;
  watches?: Watch[];
  reconciler: Reconciler;
  /** Parallel workers (distinct keys only). Default 2. */
  workers?: number;
}

/** Operator-wide settings from CLI flags, handed to every controller factory. */
export interface OperatorConfig {
  /** Watch only this namespace; undefined = all namespaces. */
  namespace?: string;
  /**
   * Reconcile only objects in these namespaces; undefined = every namespace the cache sees. With one namespace the
   * cache itself is narrowed (`namespace`); with several it watches all and the controllers ignore the rest.
   */
  namespaces?: string[];
  /** Default image of the inference sidecar container (`--sidecar-image`). */
  sidecarImage: string;
  /**
   * The monitor's base URL (`--monitor-url`, env MEDMLOPS_MONITOR_URL): sidecars send their records there, and the
   * ValidationPolicy, RetrainJob and ConsentRecord controllers call it; controllers that need it are registered
   * only when set. Undefined = no monitor configured.
   */
  monitorUrl?: string;
  /**
   * The operator's credentials for the monitor (`--monitor-ca`, `--monitor-cert`/`--monitor-key`,
   * `--monitor-token-file`; common/tls/client.ts): every MonitorClient the controllers make presents them.
   */
  monitorTls?: ClientTlsFiles;
  /**
   * The PEM CA bundle of an https:// monitor as it is now (the content of `--monitor-ca`, read by the operator from
   * its own mounted file — never from a Secret — and re-read when it changes, runtime/monitor-ca.ts): model pods
   * get it in their ConfigMap and trust the monitor with it, RetrainJob pods in theirs. Called at each reconcile.
   */
  monitorCa?: () => string | undefined;
  /** Pod name (reportingInstance of events, leader identity). */
  identity: string;
  /** Parallel reconciles per controller (`--workers`); undefined = each controller's own `workers`. */
  workers?: number;
  /** N of the reference profile frozen from a version's first N served records (`--reference-first-records`). */
  referenceFirstRecords?: number;
  /**
   * The operator's re-check of the chart's admission policy (`--allowed-image-prefixes`, `--allowed-key-secrets`,
   * `--allowed-case-id-key-secrets`, `--allowed-model-claims`, `--allowed-tls-secrets`): each list set is enforced (empty = nothing
   * allowed), each list unset is not re-checked. Undefined = no re-check at all (a dev cluster).
   */
  admission?: AdmissionAllowLists;
  /**
   * The cert-manager issuer of the models' serving certificates (`--serving-tls-issuer Kind/name`): a MedModel
   * without its own certificate Secret and without serving.plainHttp gets a Certificate from it and serves HTTPS
   * once it is Ready. Undefined = no issued certificates (a MedModel without spec.serving.tls serves plain HTTP).
   */
  servingTlsIssuer?: ServingTlsIssuer;
}

/** A cert-manager issuer reference (`issuerRef` of a Certificate). */
export interface ServingTlsIssuer {
  kind: "Issuer" | "ClusterIssuer";
  name: string;
  group: string;
}

/** The hospital's allow-lists for what a MedModel may name (the chart's `admission.*` values). */
export interface AdmissionAllowLists {
  /** spec.serving.image must start with one of these. */
  imagePrefixes?: readonly string[];
  /** spec.deid.keySecretRef.name must be one of these. */
  keySecrets?: readonly string[];
  /** spec.serving.caseIdKeySecretRef.name must be one of these. */
  caseIdKeySecrets?: readonly string[];
  /** A pvc:// model source must name one of these claims. */
  modelClaims?: readonly string[];
  /** spec.serving.tls.secretName and spec.serving.tls.tokenSecretRef.name must be among these. */
  tlsSecrets?: readonly string[];
}

export interface ControllerDeps {
  cache: Cache;
  client: Client;
  events: EventRecorder;
  log: Logger;
  now: () => Date;
  config: OperatorConfig;
  /**
   * Whether an `optionalOwns` kind is served (and watched). Decided once at manager start, before any reconcile;
   * absent (tests building deps by hand) means no optional kind is served.
   */
  served?: (gvk: GVK) => boolean;
}

export type ControllerFactory = (deps: ControllerDeps) => ControllerSpec;

/** Field manager for every write the operator makes. */
export const FIELD_MANAGER = "medmlops-operator";
/** events.k8s.io reportingController. */
export const REPORTING_CONTROLLER = "medmlops.io/operator";
