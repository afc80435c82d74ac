import type { z } from "zod";

/** Field path in kubectl's notation: `spec.versions[1].source.sha256`. */
function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out === "" ? "(root)" : out;
}

/**
 * One line per problem, each naming the field. zod's messages and ours never echo the offending value,
 * so these lines are safe to log and to put in events and status (no PHI).
 */
export function formatIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return error.issues.map((i) => `${pathText([...prefix, ...i.path])}: ${i.message}`);
}

export class ResourceValidationError extends Error {
  readonly code = "InvalidResource";
  constructor(
    readonly what: string,
    readonly problems: string[],
  ) {
    super(`${what} is invalid: ${problems.join("; ")}`);
    this.name = "ResourceValidationError";
  }
}

/** Parses with a schema and throws a ResourceValidationError that names every bad field. */
export function parseResource<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ResourceValidationError(what, formatIssues(result.error));
  return result.data;
}
