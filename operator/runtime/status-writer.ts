/**
 * Writing a primary object's status once per reconcile, and only when it changed:
 *
 *   const statuses = new StatusWriter<MyStatus>(client);         // once per controller
 *   const previous = statuses.current(cached);                   // decide on this, not on cached.status
 *   await statuses.write(cached, next, { succeeded: true });     // skipped when equal to `previous`
 *   statuses.forget(key);                                        // when the primary object is gone
 *
 * Why a memo: a second event for the same object often arrives before the watch delivered our own status write,
 * so the cache still shows the status before it. Deciding on that stale status would redo (and re-announce) what
 * was already decided, and comparing with it would write the same status twice. The writer remembers the status it
 * last wrote and the resourceVersion the server answered, and `current` returns it while the cached object is
 * older than that write.
 *
 * Conflict-safe: the write is server-side apply on the /status subresource without a resourceVersion (the client
 * strips it), so it never fails with 409 on a concurrent change of the main resource; fields it leaves out are
 * removed from what this field manager owns.
 */
import { canonicalJson } from "./canonical-json.ts";
import { keyOf, keyString } from "./gvk.ts";
import { type StatusWithGeneration, statusBody } from "./status.ts";
import type { Client, KubeObject, ObjectKey } from "./types.ts";

interface Written<S> {
  uid: string;
  resourceVersion: string | undefined;
  status: S;
}

/** resourceVersions are etcd revisions in practice; compare them only when both are plain integers. */
export function olderThan(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

export class StatusWriter<S extends { observedGeneration?: number } = StatusWithGeneration> {
  private readonly written = new Map<string, Written<S>>();

  constructor(private readonly client: Client) {}

  /** The newest status we know of for `obj`: our own last write while the cache has not caught up, else the cache's. */
  current(obj: KubeObject): S {
    const mine = this.written.get(keyString(keyOf(obj)));
    if (
      mine &&
      mine.uid === (obj.metadata?.uid ?? "") &&
      olderThan(obj.metadata?.resourceVersion, mine.resourceVersion)
    )
      return mine.status;
    return ((obj["status"] as S | undefined) ?? {}) as S;
  }

  /**
   * Writes `next` as the status of `obj` (statusBody: observedGeneration becomes the object's generation when the
   * reconcile succeeded) unless it equals, as canonical JSON, the newest status we know of. Resolves whether it
   * wrote.
   */
  async write(
    obj: KubeObject,
    next: S,
    outcome: { succeeded: boolean } = { succeeded: true },
  ): Promise<boolean> {
    const body = statusBody(obj, next as S & StatusWithGeneration, outcome);
    if (canonicalJson(body.status) === canonicalJson(this.current(obj))) return false;
    const result = await this.client.applyStatus(body);
    this.written.set(keyString(keyOf(obj)), {
      uid: obj.metadata?.uid ?? "",
      resourceVersion: result.metadata?.resourceVersion,
      status: body.status,
    });
    return true;
  }

  /** The object is gone: drop what we remembered of it. */
  forget(key: ObjectKey): void {
    this.written.delete(keyString(key));
  }

  /** How many objects are remembered (for tests and metrics). */
  size(): number {
    return this.written.size;
  }
}
