// The API as the real API server sees it: the generated CRDs in crds/*.yaml install and become Established,
// every manifest in examples/ is accepted (server-side dry run, then create with strict field validation and no
// field lost), and a MedModel whose activeVersion names no version is rejected with the CRD's own CEL message.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiextensionsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  type FreshNamespace,
  freshNamespace,
  kubectl,
  kubectlOk,
  testKubeConfig,
  waitFor,
} from "../cluster/client.ts";
import { repoRoot } from "../cluster/paths.ts";

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: unknown;
};

function yamlFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir))
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => join(repoRoot, dir, f));
}

function docs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null && typeof d === "object");
}

/** Every x-kubernetes-validations entry anywhere in a CRD. */
function validations(node: unknown, out: { rule: string; message?: string }[] = []): typeof out {
  if (Array.isArray(node)) for (const n of node) validations(n, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "x-kubernetes-validations" && Array.isArray(v))
        out.push(...(v as { rule: string; message?: string }[]));
      else validations(v, out);
    }
  }
  return out;
}

/** True when every leaf of `sub` is present with the same value in `sup` (defaults may add fields). */
function isSubset(sub: unknown, sup: unknown): boolean {
  if (Array.isArray(sub)) {
    return Array.isArray(sup) && sub.length === sup.length && sub.every((v, i) => isSubset(v, sup[i]));
  }
  if (sub && typeof sub === "object") {
    if (!sup || typeof sup !== "object") return false;
    return Object.entries(sub).every(([k, v]) => isSubset(v, (sup as Record<string, unknown>)[k]));
  }
  return sub === sup || (typeof sub === "number" && Number(sup) === sub);
}

const crdFiles = yamlFiles("crds");
const exampleFiles = yamlFiles("examples");
const crds = crdFiles.flatMap(docs).filter((d) => d.kind === "CustomResourceDefinition");
const FIELD_MANAGER = "medmlops-integration-test";

describe("CRDs on the real API server", () => {
  let ns: FreshNamespace;
  beforeAll(async () => {
    expect(
      crds.length,
      `no CustomResourceDefinition found in crds/*.yaml (${crdFiles.length} files)`,
    ).toBeGreaterThan(0);
    for (const f of crdFiles) {
      await kubectlOk([
        "apply",
        "--server-side",
        "--force-conflicts",
        `--field-manager=${FIELD_MANAGER}`,
        "-f",
        f,
      ]);
    }
    ns = await freshNamespace("crds");
  });
  afterAll(async () => {
    await ns?.delete();
  });

  it("installs the four medmlops.io CRDs and each becomes Established", async () => {
    const kinds = crds.map((c) => (c.spec as { names: { kind: string } }).names.kind).sort();
    expect(kinds).toEqual(["ConsentRecord", "MedModel", "RetrainJob", "ValidationPolicy"]);
    const api = testKubeConfig().makeApiClient(ApiextensionsV1Api);
    for (const c of crds) {
      const name = c.metadata?.name ?? "";
      const established = await waitFor(async () => {
        const got = await api.readCustomResourceDefinition({ name });
        const cond = got.status?.conditions?.find((k) => k.type === "Established");
        return cond?.status === "True" ? got : undefined;
      }, 30_000);
      expect(established.spec.group).toBe("medmlops.io");
      expect(established.status?.conditions?.find((k) => k.type === "NamesAccepted")?.status).toBe("True");
    }
  });

  it("accepts every manifest in examples/ (server-side dry run, then create; no field pruned)", async () => {
    expect(exampleFiles.length, "no manifests found in examples/*.yaml").toBeGreaterThan(0);
    let created = 0;
    for (const file of exampleFiles) {
      for (const doc of docs(file)) {
        const where = `${file.slice(repoRoot.length + 1)}: ${doc.kind}/${doc.metadata?.name}`;
        if (doc.kind === "Namespace") {
          // Validate only: the namespace may already exist from someone following the docs on this cluster.
          const r = await kubectl(
            [
              "apply",
              "--server-side",
              "--dry-run=server",
              `--field-manager=${FIELD_MANAGER}`,
              "-o",
              "name",
              "-f",
              "-",
            ],
            JSON.stringify(doc),
          );
          expect(r.code, `${where}: ${r.stderr}`).toBe(0);
          continue;
        }
        // Isolate each run in a fresh namespace instead of the one the example names.
        const obj = { ...doc, metadata: { ...doc.metadata, namespace: ns.name } };
        const body = JSON.stringify(obj);
        const dry = await kubectl(
          ["create", "--dry-run=server", "--validate=strict", "-n", ns.name, "-o", "name", "-f", "-"],
          body,
        );
        expect(dry.code, `${where} (dry run): ${dry.stderr}`).toBe(0);
        const made = await kubectl(
          ["create", "--validate=strict", "-n", ns.name, "-o", "json", "-f", "-"],
          body,
        );
        expect(made.code, `${where}: ${made.stderr}`).toBe(0);
        const stored = JSON.parse(made.stdout) as Obj;
        expect(isSubset(doc.spec, stored.spec), `${where}: the server dropped or changed spec fields`).toBe(
          true,
        );
        created++;
      }
    }
    expect(created).toBeGreaterThan(0);
  });

  it("rejects a MedModel whose activeVersion names no version, with the CEL message", async () => {
    const medmodelCrd = crds.find((c) => (c.spec as { names: { kind: string } }).names.kind === "MedModel");
    const rule = validations(medmodelCrd).find(
      (v) => /self\.activeVersion/.test(v.rule) && /versions/.test(v.rule),
    );
    expect(
      rule?.message,
      "the MedModel CRD has no CEL rule tying activeVersion to spec.versions",
    ).toBeTruthy();
    const example = exampleFiles.flatMap(docs).find((d) => d.kind === "MedModel");
    expect(example, "no MedModel in examples/ to start from").toBeDefined();
    const bad = structuredClone(example) as Obj & { spec: { activeVersion?: string } };
    bad.metadata = { name: "activeversion-names-nothing", namespace: ns.name };
    bad.spec.activeVersion = "no-such-version";
    for (const dryRun of [["--dry-run=server"], []]) {
      const r = await kubectl(["create", ...dryRun, "-n", ns.name, "-f", "-"], JSON.stringify(bad));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(rule?.message);
      expect(r.stderr).toContain("spec.activeVersion");
    }
    const gone = await kubectl(["get", "medmodel", "activeversion-names-nothing", "-n", ns.name]);
    expect(gone.code).not.toBe(0);
  });
});
