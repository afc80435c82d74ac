import { gvkId } from "./gvk.ts";
import type { RestClient } from "./rest.ts";
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
