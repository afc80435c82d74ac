/**
 * The whole chart rendered offline (`helm template`, the helm the cluster build makes) into objects, for tests
 * that follow references across templates (a Deployment mounting a Secret another template renders).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { helmBin } from "../cluster/client.ts";
import { repoRoot } from "../cluster/paths.ts";

export type Rendered = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read at arbitrary paths
  [k: string]: any;
};

/**
 * The API versions an offline render declares beside the built-in ones: cert-manager's, as in a cluster that has
 * it — the chart's default (modelServing.tls.mode cert-manager) refuses to render without it.
 */
export const CLUSTER_API_VERSIONS = ["cert-manager.io/v1"];

/** Renders release `release` into `namespace` with `--set` values; rejects with helm's stderr on a render error. */
export async function renderChart(
  set: string[],
  opts: { release?: string; namespace?: string; apiVersions?: string[] } = {},
): Promise<Rendered[]> {
  if (!existsSync(helmBin)) throw new Error(`helm not found at ${helmBin}: run bash test/cluster/build.sh`);
  const args = ["template", opts.release ?? "x", join(repoRoot, "charts/medmlops")];
  args.push("--namespace", opts.namespace ?? "med", "--kube-version", "v1.33.0");
  for (const v of opts.apiVersions ?? CLUSTER_API_VERSIONS) args.push("--api-versions", v);
  for (const s of set) args.push("--set", s);
  try {
    const r = await promisify(execFile)(helmBin, args, { maxBuffer: 64 * 1024 * 1024 });
    return parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as Rendered | null)
      .filter((o): o is Rendered => o !== null);
  } catch (e) {
    throw new Error((e as { stderr?: string }).stderr || (e as Error).message);
  }
}

/** The one object of a kind whose name ends with `suffix` (throws when there is not exactly one). */
export function one(objects: Rendered[], kind: string, suffix = ""): Rendered {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(suffix));
  if (found.length !== 1) throw new Error(`expected one ${kind} *${suffix}, found ${found.length}`);
  return found[0]!;
}

export const all = (objects: Rendered[], kind: string) => objects.filter((o) => o.kind === kind);
