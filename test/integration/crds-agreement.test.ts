// zod and the API server must reject the same manifests: every case in crds/invalid-cases.ts (an example with one
// mistake) is refused by a server-side dry run, naming the same field, and the unmodified example is accepted —
// so a rule that exists only in zod (caught late, by the controller) or only in the CRD shows up here.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifests } from "../../crds/examples.ts";
import { invalidCases } from "../../crds/invalid-cases.ts";
import { type FreshNamespace, freshNamespace, kubectl, kubectlOk } from "../cluster/client.ts";
import { repoRoot } from "../cluster/paths.ts";

const examples = readManifests(join(repoRoot, "examples")).map((m) => m.doc);

function exampleOf(kind: string, namespace: string): Record<string, unknown> {
  const doc = examples.find((d) => d.kind === kind);
  if (!doc) throw new Error(`no ${kind} in examples/`);
  const copy = structuredClone(doc) as { metadata: Record<string, unknown> };
  copy.metadata = { name: `agreement-${kind.toLowerCase()}`, namespace };
  return copy;
}

/** The last named segment of a field path: `spec.versions[1].source.sha256` → `sha256`. */
function leaf(field: string): string {
  return (
    field
      .replace(/\[\d+\]/g, "")
      .split(".")
      .pop() ?? field
  );
}

describe("zod and the API server agree on invalid manifests", () => {
  let ns: FreshNamespace;
  beforeAll(async () => {
    await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", join(repoRoot, "crds")]);
    await kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", "-f", join(repoRoot, "crds")]);
    ns = await freshNamespace("agree");
  });
  afterAll(async () => {
    await ns?.delete();
  });

  it("accepts the unmodified example of each kind that has invalid cases", async () => {
    for (const kind of new Set(invalidCases.map((c) => c.kind))) {
      const r = await kubectl(
        ["create", "--dry-run=server", "-n", ns.name, "-f", "-"],
        JSON.stringify(exampleOf(kind, ns.name)),
      );
      expect(r.code, `${kind}: ${r.stderr}`).toBe(0);
    }
  });

  it.each(invalidCases.map((c) => [`${c.kind}: ${c.name}`, c] as const))("rejects %s", async (_title, c) => {
    const bad = exampleOf(c.kind, ns.name);
    c.mutate(bad);
    const r = await kubectl(["create", "--dry-run=server", "-n", ns.name, "-f", "-"], JSON.stringify(bad));
    expect(r.code, `the API server accepted a manifest zod rejects at ${c.field}`).not.toBe(0);
    expect(r.stderr).toContain(leaf(c.field));
  });
});
