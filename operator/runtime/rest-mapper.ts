import { gvkId } from "./gvk.ts";
import { isNotFound, type RestClient } from "./rest.ts";
import type { GVK } from "./types.ts";

interface APIResourceList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
}

/**
 * apiVersion + kind → GVK (plural, scope), for writes of objects given as plain JSON. Kinds the runtime already
 * knows (registered by controllers) resolve locally; others by API discovery, cached per group/version.
 */
export class RestMapper {
  private readonly known = new Map<string, GVK>();
  private readonly discovered = new Map<string, Promise<APIResourceList>>();

  constructor(private readonly rest: RestClient) {}

  register(gvk: GVK): void {
    this.known.set(gvkId(gvk), gvk);
  }

  /**
   * Whether the API server serves this kind now (its group/version lists the plural). A 404 on the group/version
   * means the CRDs are not installed; other errors propagate so a caller can retry.
   */
  async served(gvk: GVK): Promise<boolean> {
    const path = gvk.group ? `/apis/${gvk.group}/${gvk.version}` : `/api/${gvk.version}`;
    let list: APIResourceList;
    try {
      list = await this.rest.request<APIResourceList>("GET", path);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    return list.resources?.some((r) => r.name === gvk.plural && r.kind === gvk.kind) ?? false;
  }

  async gvkFor(apiVersion: string, kind: string): Promise<GVK> {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/", 2) : ["", apiVersion];
    const probe: GVK = { group: group!, version: version!, kind, plural: "" };
    const hit = this.known.get(gvkId(probe));
    if (hit) return hit;
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    let pending = this.discovered.get(path);
    if (!pending) {
      pending = this.rest.request<APIResourceList>("GET", path);
      this.discovered.set(path, pending);
      pending.catch(() => this.discovered.delete(path));
    }
    const list = await pending;
    const res = list.resources?.find((r) => r.kind === kind && !r.name.includes("/"));
    if (!res) throw new Error(`no resource for kind ${kind} in ${apiVersion}`);
    const gvk: GVK = { ...probe, plural: res.name, namespaced: res.namespaced };
    this.known.set(gvkId(gvk), gvk);
    return gvk;
  }
}
