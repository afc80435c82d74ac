import { keyOf, objectPath } from "./gvk.ts";
import { isNotFound, type RestClient } from "./rest.ts";
import type { RestMapper } from "./rest-mapper.ts";
import {
  type ApplyOptions,
  type Client,
  type DeleteOptions,
  FIELD_MANAGER,
  type GVK,
  type KubeObject,
  type ObjectKey,
} from "./types.ts";

const APPLY_PATCH = "application/apply-patch+yaml"; // JSON is YAML: the body is sent as JSON
const MERGE_PATCH = "application/merge-patch+json";

/** The write side: server-side apply under one field manager, status via the /status subresource. */
export class ApplyClient implements Client {
  constructor(
    private readonly rest: RestClient,
    private readonly mapper: RestMapper,
    private readonly fieldManager = FIELD_MANAGER,
  ) {}

  private async pathOf(obj: KubeObject): Promise<string> {
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
      throw new Error("apply: object needs apiVersion, kind and metadata.name");
    }
    const gvk = await this.mapper.gvkFor(obj.apiVersion, obj.kind);
    return objectPath(gvk, keyOf(obj));
  }

  async apply<T extends KubeObject = KubeObject>(obj: T, opts: ApplyOptions = {}): Promise<T> {
    return this.rest.request<T>("PATCH", await this.pathOf(obj), {
      body: withoutServerFields(obj),
      contentType: APPLY_PATCH,
      query: { fieldManager: opts.fieldManager ?? this.fieldManager, force: opts.force ?? true },
      timeoutMs: 30_000,
    });
  }

  async applyStatus<T extends KubeObject = KubeObject>(obj: T): Promise<T> {
    return this.rest.request<T>("PATCH", `${await this.pathOf(obj)}/status`, {
      body: withoutServerFields(obj),
      contentType: APPLY_PATCH,
      query: { fieldManager: this.fieldManager, force: true },
      timeoutMs: 30_000,
    });
  }

  mergePatch<T extends KubeObject = KubeObject>(gvk: GVK, key: ObjectKey, patch: object): Promise<T> {
    return this.rest.request<T>("PATCH", objectPath(gvk, key), {
      body: patch,
      contentType: MERGE_PATCH,
      query: { fieldManager: this.fieldManager },
      timeoutMs: 30_000,
    });
  }

  async get<T extends KubeObject = KubeObject>(gvk: GVK, key: ObjectKey): Promise<T | undefined> {
    try {
      return await this.rest.request<T>("GET", objectPath(gvk, key), { timeoutMs: 30_000 });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(gvk: GVK, key: ObjectKey, opts: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.rest.request("DELETE", objectPath(gvk, key), {
        query: { propagationPolicy: opts.propagationPolicy ?? "Background" },
        timeoutMs: 30_000,
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

/**
 * SSA rejects metadata.managedFields and should not carry resourceVersion (that would turn apply into a
 * conditional write) — strip them in case a caller applies a copy of a cached object.
 */
function withoutServerFields(obj: KubeObject): KubeObject {
  if (!obj.metadata) return obj;
  const {
    managedFields: _m,
    resourceVersion: _r,
    uid: _u,
    creationTimestamp: _c,
    generation: _g,
    ...meta
  } = obj.metadata;
  return { ...obj, metadata: meta };
}
