/**
 * Turns zod 4's JSON Schema output into a Kubernetes *structural* schema and checks the result.
 *
 * zod emits `$ref`/`$defs` for reused schemas, `additionalProperties: false` for strict objects, `{}` for
 * `z.unknown()`, `anyOf` for unions of literals, and a regex `pattern` beside `format: date-time`. The API
 * server wants every node typed, no references, no type/description/default inside anyOf/allOf/oneOf/not,
 * and maps spelled `additionalProperties: <schema>` without `properties` beside them.
 */

export type JsonSchema = { [key: string]: unknown };

const COMBINATORS = ["anyOf", "allOf", "oneOf"] as const;
const FORBIDDEN_KEYS = ["$ref", "$schema", "$defs", "definitions", "patternProperties", "$id", "id"] as const;
/** Keys zod may emit that Kubernetes' JSONSchemaProps has no field for; the API server would drop them. */
const DROPPED_KEYS = ["$schema", "$defs", "definitions", "$id", "id", "propertyNames", "const", "examples"];
/** Key order in the output: what a reader looks for first. */
const KEY_ORDER = ["description", "type", "format", "enum", "default"];

function isObject(v: unknown): v is JsonSchema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function resolveRef(ref: string, defs: JsonSchema, seen: Set<string>): JsonSchema {
  const name = ref.replace(/^#\/(\$defs|definitions)\//, "");
  if (seen.has(name)) throw new Error(`recursive schema ${name} cannot be expressed in a CRD`);
  const target = defs[name];
  if (!isObject(target)) throw new Error(`unresolvable $ref ${ref}`);
  return target;
}

/** A union whose branches all have the same type (e.g. literals 1 | 3) becomes one typed enum. */
function collapseUnion(node: JsonSchema, path: string): void {
  for (const key of COMBINATORS) {
    const branches = node[key];
    if (!Array.isArray(branches)) continue;
    const types = new Set(branches.map((b) => (isObject(b) ? b["type"] : undefined)));
    const allEnums = branches.every((b) => isObject(b) && Array.isArray(b["enum"]));
    if (types.size === 1 && allEnums && key !== "allOf") {
      const values = branches.flatMap((b) => (b as JsonSchema)["enum"] as unknown[]);
      let type = [...types][0];
      if (type === "number" && values.every((v) => Number.isInteger(v))) type = "integer";
      delete node[key];
      node["type"] = type;
      node["enum"] = values;
      continue;
    }
    throw new Error(
      `${path}: ${key} of different types cannot be structural; use x-kubernetes-int-or-string or split`,
    );
  }
}

function orderKeys(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const k of KEY_ORDER) if (k in node) out[k] = node[k];
  for (const [k, v] of Object.entries(node)) if (!(k in out)) out[k] = v;
  return out;
}

/** Returns a new structural schema; throws when the input cannot be made structural. */
export function toStructural(schema: JsonSchema): JsonSchema {
  const defs = {
    ...(schema["$defs"] as JsonSchema | undefined),
    ...(schema["definitions"] as JsonSchema | undefined),
  };

  const visit = (input: JsonSchema, path: string, seen: Set<string>): JsonSchema => {
    let node: JsonSchema = { ...input };
    if (typeof node["$ref"] === "string") {
      const ref = node["$ref"];
      const name = ref.replace(/^#\/(\$defs|definitions)\//, "");
      const { $ref: _, ...rest } = node;
      node = { ...resolveRef(ref, defs, seen), ...rest };
      seen = new Set([...seen, name]);
    }
    for (const k of DROPPED_KEYS) delete node[k];

    if (node["x-kubernetes-int-or-string"] === true) {
      for (const k of [...COMBINATORS, "type", "pattern", "maxLength", "minLength"]) delete node[k];
      return orderKeys(node);
    }
    if (node["x-kubernetes-preserve-unknown-fields"] === true) {
      node["type"] = "object";
      if (isObject(node["additionalProperties"]) && Object.keys(node["additionalProperties"]).length === 0) {
        delete node["additionalProperties"];
      }
    }
    if (node["patternProperties"] !== undefined) {
      throw new Error(`${path}: patternProperties is not allowed in a structural schema`);
    }
    collapseUnion(node, path);

    if (node["format"] === "date-time" || node["format"] === "date") delete node["pattern"];
    // RegExp#source escapes "/"; RE2 accepts it, but plain slashes read better in `kubectl explain`.
    if (typeof node["pattern"] === "string") node["pattern"] = node["pattern"].replace(/\\\//g, "/");
    if (
      node["additionalProperties"] === false ||
      (node["properties"] && node["additionalProperties"] !== undefined)
    ) {
      delete node["additionalProperties"];
    }
    if (isObject(node["properties"])) {
      const props: JsonSchema = {};
      for (const [name, child] of Object.entries(node["properties"])) {
        props[name] = visit(child as JsonSchema, `${path}.${name}`, seen);
      }
      node["properties"] = props;
    }
    if (isObject(node["additionalProperties"])) {
      node["additionalProperties"] = visit(node["additionalProperties"], `${path}.*`, seen);
    }
    if (isObject(node["items"])) node["items"] = visit(node["items"], `${path}[]`, seen);
    return orderKeys(node);
  };

  return visit(schema, "", new Set());
}

/**
 * Every rule the API server's structural-schema check applies that our generator could break, plus ours:
 * every node typed, every property described. Returns one line per violation (empty = structural).
 */
export function checkStructural(schema: JsonSchema, path = ""): string[] {
  const problems: string[] = [];
  const at = path === "" ? "(root)" : path;
  for (const k of FORBIDDEN_KEYS) if (k in schema) problems.push(`${at}: ${k} is not allowed`);

  const intOrString = schema["x-kubernetes-int-or-string"] === true;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  if (typeof schema["type"] !== "string" && !intOrString) problems.push(`${at}: every node needs a type`);
  if (schema["properties"] !== undefined && schema["additionalProperties"] !== undefined) {
    problems.push(`${at}: additionalProperties beside properties`);
  }
  if (schema["additionalProperties"] === false) problems.push(`${at}: additionalProperties: false`);
  if (schema["additionalProperties"] !== undefined && !isObject(schema["additionalProperties"])) {
    problems.push(`${at}: additionalProperties must be a schema`);
  }
  if (
    isObject(schema["additionalProperties"]) &&
    Object.keys(schema["additionalProperties"]).length === 0 &&
    !preserve
  ) {
    problems.push(`${at}: additionalProperties {} is an untyped map value`);
  }
  if (schema["type"] === "array" && !isObject(schema["items"])) problems.push(`${at}: array without items`);
  for (const k of [...COMBINATORS, "not"]) {
    const branches = k === "not" ? [schema[k]] : schema[k];
    if (schema[k] === undefined) continue;
    for (const b of branches as unknown[]) {
      if (!isObject(b)) continue;
      for (const banned of ["type", "description", "default", "nullable", "additionalProperties"]) {
        if (banned in b) problems.push(`${at}: ${banned} inside ${k}`);
      }
    }
  }
  const listType = schema["x-kubernetes-list-type"];
  if (listType === "map") {
    const keys = schema["x-kubernetes-list-map-keys"];
    const items = schema["items"];
    const required =
      isObject(items) && Array.isArray(items["required"]) ? (items["required"] as string[]) : [];
    if (!Array.isArray(keys) || keys.length === 0)
      problems.push(`${at}: list-type map without list-map-keys`);
    else
      for (const key of keys as string[]) {
        if (!required.includes(key)) problems.push(`${at}: list-map key ${key} must be required in items`);
      }
  }
  if (isObject(schema["properties"])) {
    for (const [name, child] of Object.entries(schema["properties"])) {
      if (!isObject(child)) continue;
      // The API server forbids anything but `type: object` for the root metadata, description included.
      const rootMetadata = path === "" && name === "metadata";
      if (!rootMetadata && (typeof child["description"] !== "string" || child["description"] === "")) {
        problems.push(`${path}.${name}: missing description`);
      }
      problems.push(...checkStructural(child, `${path}.${name}`));
    }
  }
  if (isObject(schema["additionalProperties"])) {
    problems.push(...checkStructural(schema["additionalProperties"], `${path}.*`));
  }
  if (isObject(schema["items"])) problems.push(...checkStructural(schema["items"], `${path}[]`));
  return problems;
}

/** Every CEL rule in a schema with the path of the node it sits on. */
export function celRules(schema: JsonSchema, path = ""): { path: string; rule: string; message: string }[] {
  const out: { path: string; rule: string; message: string }[] = [];
  const rules = schema["x-kubernetes-validations"];
  if (Array.isArray(rules)) {
    for (const r of rules as { rule: string; message: string }[])
      out.push({ path, rule: r.rule, message: r.message });
  }
  if (isObject(schema["properties"])) {
    for (const [name, child] of Object.entries(schema["properties"])) {
      if (isObject(child)) out.push(...celRules(child, `${path}.${name}`));
    }
  }
  if (isObject(schema["additionalProperties"]))
    out.push(...celRules(schema["additionalProperties"], `${path}.*`));
  if (isObject(schema["items"])) out.push(...celRules(schema["items"], `${path}[]`));
  return out;
}
