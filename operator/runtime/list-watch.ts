import { collectionPath } from "./gvk.ts";
import type { RestClient } from "./rest.ts";
import type { GVK, KubeObject } from "./types.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
}

/** The two calls an informer needs; an interface so the informer's restart logic is unit-testable. */
export interface ListerWatcher {
  list(signal: AbortSignal): Promise<ListResult>;
  /** Streams events from resourceVersion; resolves when the server ends the watch, rejects on errors. */
  watch(resourceVersion: string, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

export interface ListWatchOptions {
  namespace?: string;
  labelSelector?: string;
  pageSize?: number;
}

/** List (paginated) + watch with bookmarks for one kind, over the REST client. */
export function restListerWatcher(rest: RestClient, gvk: GVK, opts: ListWatchOptions = {}): ListerWatcher {
  const path = collectionPath(gvk, opts.namespace);
  const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
  return {
    async list(signal) {
      const items: KubeObject[] = [];
      let cont: string | undefined;
      let resourceVersion = "";
      do {
        const page = await rest.request<{
          items?: KubeObject[];
          metadata?: { resourceVersion?: string; continue?: string };
        }>("GET", path, {
          query: { limit: opts.pageSize ?? 500, continue: cont, labelSelector: opts.labelSelector },
          signal,
          timeoutMs: 60_000,
          fresh: true,
        });
        // List items carry no apiVersion/kind; fill them in so cached objects are complete (owner refs need them).
        for (const item of page.items ?? []) items.push({ apiVersion, kind: gvk.kind, ...item });
        resourceVersion = page.metadata?.resourceVersion ?? "";
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return { items, resourceVersion };
    },
    watch(resourceVersion, onEvent, signal) {
      return rest.stream(path, {
        signal,
        query: {
          watch: true,
          resourceVersion,
          allowWatchBookmarks: true,
          labelSelector: opts.labelSelector,
          // The server ends the watch after 5–10 minutes (spread like client-go) and we resume from the last
          // resourceVersion: no watch lives forever on a connection a proxy may have silently dropped.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        },
        onLine: (line) => onEvent(JSON.parse(line) as WatchEvent),
      });
    },
  };
}
