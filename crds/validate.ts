import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { formatIssues } from "./errors.ts";
import { API_VERSION, schemasByKind } from "./index.ts";

export interface ManifestResult {
  file: string;
  /** `Kind/name`, or `document N` when the document has no kind. */
  what: string;
  /** Empty when valid; one line per problem, each naming the field (never the value). */
  problems: string[];
  /** True for documents that are not MedMLOps kinds (e.g. a Namespace): not checked. */
  skipped: boolean;
}

function yamlFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => join(path, f));
}

/**
 * Checks manifests offline with the same rules the API server applies (zod mirrors every CEL rule), so a
 * GitOps pipeline can reject a bad MedModel before it reaches a cluster.
 */
export function validateManifests(paths: string[]): ManifestResult[] {
  const results: ManifestResult[] = [];
  for (const file of paths.flatMap(yamlFiles)) {
    const docs = parseAllDocuments(readFileSync(file, "utf8"));
    docs.forEach((doc, i) => {
      if (doc.errors.length > 0) {
        results.push({ file, what: `document ${i + 1}`, problems: ["not valid YAML"], skipped: false });
        return;
      }
      const obj = doc.toJS() as {
        apiVersion?: unknown;
        kind?: unknown;
        metadata?: { name?: unknown };
      } | null;
      if (obj === null || typeof obj !== "object") return;
      const kind = typeof obj.kind === "string" ? obj.kind : "";
      const what = `${kind || `document ${i + 1}`}/${typeof obj.metadata?.name === "string" ? obj.metadata.name : ""}`;
      const schema = schemasByKind[kind as keyof typeof schemasByKind];
      const ours = typeof obj.apiVersion === "string" && obj.apiVersion.startsWith("medmlops.io/");
      if (!schema && !ours) {
        results.push({ file, what, problems: [], skipped: true });
        return;
      }
      if (!schema) {
        results.push({
          file,
          what,
          problems: [`kind: unknown MedMLOps kind in ${API_VERSION}`],
          skipped: false,
        });
        return;
      }
      const r = schema.safeParse(obj);
      results.push({ file, what, problems: r.success ? [] : formatIssues(r.error), skipped: false });
    });
  }
  return results;
}
