import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { kinds } from "../index.ts";
import { main as crdsCli } from "../cli.ts";
import { parse as parseYaml } from "yaml";
import { ChartValuesSchema } from "./chart-values.ts";
import { allCrds } from "./crd.ts";
import { renderAll } from "./render.ts";
import { celRules, checkStructural, type JsonSchema, toStructural } from "./structural.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary paths of parsed manifests
type Loose = any;

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const schemaOf = (crd: JsonSchema) => (crd as Loose).spec.versions[0].schema.openAPIV3Schema as JsonSchema;

describe("generated files", () => {
  const files = renderAll();

  it("are up to date with the zod schemas (run `npm run gen` if this fails)", () => {
    const stale = [...files].filter(([rel, content]) => readFileSync(join(root, rel), "utf8") !== content);
    expect(stale.map(([rel]) => rel)).toEqual([]);
  });

  it("are deterministic", () => {
    expect([...renderAll()]).toEqual([...files]);
  });

  it("copy each CRD into the Helm chart unchanged", () => {
    for (const k of kinds) {
      expect(files.get(`charts/medmlops/crds/${k.plural}.yaml`)).toBe(files.get(`crds/${k.plural}.yaml`));
    }
  });

  it("include one docs page per kind and an index linking them", () => {
    const index = files.get("docs/api/README.md")!;
    for (const k of kinds) {
      expect(index).toContain(`(${k.singular}.md)`);
      expect(files.get(`docs/api/${k.singular}.md`)).toContain(`# ${k.kind}`);
    }
    expect(files.get("docs/api/medmodel.md")).toContain("`spec.failover.enabled` | boolean |  | `true` |");
  });
});

describe.each(allCrds().map((c) => [c.info.kind, c] as const))("%s CRD", (kind, { info, crd }) => {
  const schema = schemaOf(crd);
  const props = schema["properties"] as Record<string, JsonSchema>;
  const spec = (crd as Loose).spec;

  it("is a structural schema with a description on every field", () => {
    expect(checkStructural(schema)).toEqual([]);
  });

  it("has the names, scope, category, status subresource and printer columns", () => {
    expect(spec.scope).toBe("Namespaced");
    expect(spec.names).toMatchObject({
      kind,
      plural: info.plural,
      shortNames: info.shortNames,
      categories: ["medmlops"],
    });
    expect(spec.versions[0].subresources).toEqual({ status: {} });
    expect(spec.versions[0].additionalPrinterColumns.map((c: Loose) => c.name)).toContain("Age");
  });

  it("declares status.conditions as a list map keyed by type", () => {
    const conditions = (props["status"]!["properties"] as Loose).conditions;
    expect(conditions["x-kubernetes-list-type"]).toBe("map");
    expect(conditions["x-kubernetes-list-map-keys"]).toEqual(["type"]);
    expect(Object.keys(conditions.items.properties).sort()).toEqual(
      ["lastTransitionTime", "message", "observedGeneration", "reason", "status", "type"].sort(),
    );
  });

  it("bounds every list, so CEL stays within the API server's cost budget", () => {
    const unbounded: string[] = [];
    const walk = (n: JsonSchema, path: string) => {
      if (n["type"] === "array" && n["maxItems"] === undefined) unbounded.push(path);
      for (const [k, c] of Object.entries((n["properties"] as Record<string, JsonSchema>) ?? {}))
        walk(c, `${path}.${k}`);
      if (n["items"]) walk(n["items"] as JsonSchema, `${path}[]`);
      if (typeof n["additionalProperties"] === "object")
        walk(n["additionalProperties"] as JsonSchema, `${path}.*`);
    };
    walk(schema, "");
    expect(unbounded).toEqual([]);
  });
});

describe("CEL rules", () => {
  const rules = new Map(allCrds().map(({ info, crd }) => [info.kind, celRules(schemaOf(crd))]));
  const has = (kind: string, path: string, fragment: string) =>
    rules.get(kind as never)!.some((r) => r.path === path && r.rule.includes(fragment));

  it.each([
    ["MedModel", ".spec", "self.versions.exists(v, v.name == self.activeVersion)"],
    ["MedModel", ".spec.versions", "exists_one(w, w.name == v.name)"],
    ["MedModel", ".spec.versions[].source.sha256", "^[a-f0-9]{64}$"],
    ["MedModel", ".spec.rollout.steps", "self[size(self) - 1].weight == 100"],
    ["MedModel", ".spec.rollout.steps", "isSorted()"],
    ["MedModel", ".spec.modelCard", "self.intendedUse.matches"],
    ["ValidationPolicy", ".spec.sampling.rate", "self >= 0.0 && self <= 1.0"],
    ["ValidationPolicy", ".spec.metrics[]", "self.min >= 0.0 && self.min <= 1.0"],
    ["RetrainJob", ".spec", "self.candidateVersion != self.baseVersion"],
    ["RetrainJob", ".spec.dataset", "self == oldSelf"],
    ["ConsentRecord", ".spec.subject", "self.pseudonym.matches('^pn:[a-f0-9]{64}$')"],
    ["ConsentRecord", ".spec.subject", "!self.pseudonym.matches('^[0-9]+$')"],
  ])("%s %s has %s", (kind, path, fragment) => {
    expect(has(kind, path, fragment)).toBe(true);
  });

  it("checks the consent subject on the object, so a rejected MRN or name is never echoed back", () => {
    const consent = schemaOf(allCrds().find((c) => c.info.kind === "ConsentRecord")!.crd) as Loose;
    const pseudonym = consent.properties.spec.properties.subject.properties.pseudonym;
    expect(pseudonym.pattern).toBeUndefined();
    expect(pseudonym["x-kubernetes-validations"]).toBeUndefined();
    expect(pseudonym.maxLength).toBe(67);
  });

  it("each has a message", () => {
    for (const list of rules.values()) for (const r of list) expect(r.message.length).toBeGreaterThan(10);
  });
});

describe("Helm chart values", () => {
  it("values.yaml satisfies the values schema (so values.schema.json never rejects the defaults)", () => {
    const values = parseYaml(readFileSync(join(root, "charts/medmlops/values.yaml"), "utf8"));
    const r = ChartValuesSchema.safeParse(values);
    expect(r.success, r.success ? "" : JSON.stringify(r.error.issues)).toBe(true);
  });

  it("rejects misspelt and out-of-range values", () => {
    const values = parseYaml(readFileSync(join(root, "charts/medmlops/values.yaml"), "utf8"));
    expect(
      ChartValuesSchema.safeParse({ ...values, operator: { ...values.operator, replica: 1 } }).success,
    ).toBe(false);
    expect(
      ChartValuesSchema.safeParse({ ...values, operator: { ...values.operator, metricsPort: 80 } }).success,
    ).toBe(false);
  });
});

describe("toStructural / checkStructural", () => {
  it("inlines $ref, drops additionalProperties: false and collapses literal unions", () => {
    const out = toStructural({
      $schema: "x",
      type: "object",
      properties: {
        a: { $ref: "#/$defs/A", description: "a" },
        n: {
          description: "n",
          anyOf: [
            { type: "number", enum: [1] },
            { type: "number", enum: [3] },
          ],
        },
      },
      additionalProperties: false,
      $defs: { A: { type: "string" } },
    });
    expect(out).toEqual({
      type: "object",
      properties: {
        a: { description: "a", type: "string" },
        n: { description: "n", type: "integer", enum: [1, 3] },
      },
    });
  });

  it("rejects unions of different types and recursion", () => {
    expect(() => toStructural({ anyOf: [{ type: "string" }, { type: "boolean" }] })).toThrow(
      /different types/,
    );
    expect(() =>
      toStructural({
        $ref: "#/$defs/T",
        $defs: { T: { type: "object", properties: { t: { $ref: "#/$defs/T" } } } },
      }),
    ).toThrow(/recursive/);
  });

  it("turns int-or-string and preserve-unknown-fields into their Kubernetes forms", () => {
    expect(
      toStructural({ "x-kubernetes-int-or-string": true, anyOf: [{ type: "string" }, { type: "number" }] }),
    ).toEqual({ "x-kubernetes-int-or-string": true });
    expect(toStructural({ "x-kubernetes-preserve-unknown-fields": true, additionalProperties: {} })).toEqual({
      type: "object",
      "x-kubernetes-preserve-unknown-fields": true,
    });
  });

  it("reports each kind of violation with its path", () => {
    const bad = {
      type: "object",
      $schema: "x",
      properties: {
        r: { description: "r", $ref: "#/x", type: "string" },
        u: { description: "u" },
        both: { description: "b", type: "object", properties: {}, additionalProperties: { type: "string" } },
        any: { description: "a", type: "string", anyOf: [{ type: "string", description: "x" }] },
        list: {
          description: "l",
          type: "array",
          items: { type: "object", properties: {} },
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
        },
        nodesc: { type: "string" },
        map: { description: "m", type: "object", additionalProperties: {} },
      },
    };
    expect(checkStructural(bad)).toEqual([
      "(root): $schema is not allowed",
      ".r: $ref is not allowed",
      ".u: every node needs a type",
      ".both: additionalProperties beside properties",
      ".any: type inside anyOf",
      ".any: description inside anyOf",
      ".list: list-map key name must be required in items",
      ".nodesc: missing description",
      ".map: additionalProperties {} is an untyped map value",
      ".map.*: every node needs a type",
    ]);
  });
});

describe("medmlops crds", () => {
  async function run(argv: string[]) {
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const errWrite = process.stderr.write.bind(process.stderr);
    const errs: string[] = [];
    process.stdout.write = ((c: string) => chunks.push(String(c)) > 0) as typeof process.stdout.write;
    process.stderr.write = ((c: string) => errs.push(String(c)) > 0) as typeof process.stderr.write;
    try {
      const code = await crdsCli(argv);
      return { code, out: chunks.join(""), err: errs.join("") };
    } finally {
      process.stdout.write = write;
      process.stderr.write = errWrite;
    }
  }

  it("prints all four CRDs as one YAML stream", async () => {
    const { code, out } = await run([]);
    expect(code).toBe(0);
    const docs = parseAllDocuments(out).map((d) => d.toJS() as Loose);
    expect(docs.map((d) => d.metadata.name)).toEqual(kinds.map((k) => `${k.plural}.medmlops.io`));
  });

  it("prints one CRD by short name and rejects unknown kinds with exit 2", async () => {
    const one = await run(["--kind", "vp"]);
    expect(one.code).toBe(0);
    expect(one.out).toContain("name: validationpolicies.medmlops.io");
    expect((await run(["--kind", "pod"])).code).toBe(2);
    expect((await run(["--bogus"])).code).toBe(2);
  });

  it("validate accepts the examples and skips other kinds", async () => {
    const r = await run(["validate", join(root, "examples")]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n")).toHaveLength(4);
    expect(r.err).toContain("4 manifest(s) checked, 0 invalid");
  });

  it("validate names the bad field without echoing the value and exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "medmlops-crds-"));
    try {
      const file = join(dir, "consent.yaml");
      const yaml = readFileSync(join(root, "examples", "40-consent-optout.yaml"), "utf8").replace(
        /pseudonym: .*/,
        "pseudonym: '0012345678'",
      );
      writeFileSync(file, yaml);
      const r = await run(["validate", file]);
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        "ConsentRecord/optout-7f3a9c: spec.subject.pseudonym: subject.pseudonym looks like a raw medical record number",
      );
      expect(r.out).not.toContain("0012345678");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("validate without a readable path is a usage error", async () => {
    expect((await run(["validate"])).code).toBe(2);
    expect((await run(["validate", join(root, "no-such-dir")])).code).toBe(2);
    expect((await run(["frobnicate"])).code).toBe(2);
  });
});
