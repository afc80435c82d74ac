import type { z } from "zod";

/**
 * One rule the API server enforces with CEL (`x-kubernetes-validations`). The same rule may carry a
 * TypeScript `check` so that `Schema.parse` in the operator, the CLI and the tests rejects exactly what the
 * API server rejects — one declaration, two enforcers. `field` (dot path below the node the rule sits on)
 * names the field in both: as CEL `fieldPath` and as the zod issue path.
 */
export interface Rule<T> {
  /** CEL expression; `self` is the node the rule is attached to. */
  rule: string;
  /** What the user reads when the rule fails: says what is wrong and what is expected, never echoes values. */
  message: string;
  field?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  /**
   * The same rule in TypeScript. Absent for transition rules (oldSelf need the stored object) and where the zod
   * schema already enforces the same constraint (e.g. a regex), to avoid reporting one problem twice.
   */
  check?: (value: T) => boolean;
}

/** The CRD form of a rule, exactly as it lands in the generated YAML. */
export interface CelValidation {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: string;
}

export const VALIDATIONS_KEY = "x-kubernetes-validations";

/**
 * Attaches rules to a schema: TypeScript checks become zod refinements, CEL lands in the schema's metadata,
 * which `z.toJSONSchema` copies into the JSON schema. Call it before `.describe()`/`.default()`.
 */
export function withRules<S extends z.ZodType>(schema: S, rules: Rule<z.output<S>>[]): S {
  let s = schema;
  for (const r of rules) {
    const check = r.check;
    if (check) {
      const path = r.field ? r.field.split(".") : [];
      s = s.refine((v) => check(v as z.output<S>), { message: r.message, path }) as S;
    }
  }
  const existing = (s.meta()?.[VALIDATIONS_KEY] as CelValidation[] | undefined) ?? [];
  const added: CelValidation[] = rules.map((r) => ({
    rule: r.rule,
    message: r.message,
    ...(r.field ? { fieldPath: `.${r.field}` } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
  }));
  return s.meta({ [VALIDATIONS_KEY]: [...existing, ...added] }) as S;
}
