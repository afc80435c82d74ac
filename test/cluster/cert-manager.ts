// Installs cert-manager's CRDs (Certificate, Issuer, ClusterIssuer — no controller) into the test cluster, so the
// chart's cert-manager objects meet cert-manager's real OpenAPI schemas in a server-side dry run. From the Go
// module cache, like the Gateway API CRDs: the module zip of github.com/cert-manager/cert-manager carries them
// under deploy/crds/. Those files are cert-manager's Helm templates whose directives sit in YAML comments, except
// in metadata.labels (template strings, invalid as label values): the labels are dropped, nothing else changes.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { z } from "zod";
import { kubectlOk } from "./client.ts";

const run = promisify(execFile);

export const CERT_MANAGER_MODULE = "github.com/cert-manager/cert-manager";
export const CERT_MANAGER_VERSION = "v1.16.2";
const KINDS = ["certificates", "issuers", "clusterissuers"] as const;

const DownloadJson = z.object({ Dir: z.string().min(1).optional(), Error: z.string().optional() });

async function moduleDir(version: string): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), "medmlops-cert-manager-"));
  const go = process.env["GO"] ?? "/usr/local/go/bin/go";
  try {
    const { stdout } = await run(go, ["mod", "download", "-json", `${CERT_MANAGER_MODULE}@${version}`], {
      cwd,
      env: { ...process.env, GOFLAGS: "-mod=mod", GO111MODULE: "on" },
      timeout: 300_000,
      maxBuffer: 1 << 20,
    }).catch((err: { stdout?: string; message: string }) => {
      if (err.stdout) return { stdout: err.stdout };
      throw err;
    });
    const info = DownloadJson.parse(JSON.parse(stdout));
    if (!info.Dir)
      throw new Error(`go mod download ${CERT_MANAGER_MODULE}@${version}: ${info.Error ?? "no Dir"}`);
    return info.Dir;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** Applies the three CRDs (server-side, idempotent) and waits until they are Established. Cluster-wide; they stay. */
export async function installCertManagerCrds(version = CERT_MANAGER_VERSION): Promise<string[]> {
  const dir = join(await moduleDir(version), "deploy", "crds");
  const names: string[] = [];
  for (const kind of KINDS) {
    const crd = parse(readFileSync(join(dir, `crd-${kind}.yaml`), "utf8")) as {
      kind: string;
      metadata: { name: string; labels?: unknown; annotations?: unknown };
    };
    if (crd.kind !== "CustomResourceDefinition") throw new Error(`crd-${kind}.yaml is not a CRD`);
    crd.metadata = { name: crd.metadata.name };
    await kubectlOk(
      ["apply", "--server-side", "--force-conflicts", "--field-manager=medmlops-integration-test", "-f", "-"],
      JSON.stringify(crd),
    );
    names.push(crd.metadata.name);
  }
  await kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", ...names.map((n) => `crd/${n}`)]);
  return names;
}
