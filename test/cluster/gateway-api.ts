// Installs the Gateway API standard CRDs (GatewayClass, Gateway, HTTPRoute, GRPCRoute, ReferenceGrant) into the
// test cluster from the Go module cache: the module zip of sigs.k8s.io/gateway-api carries the CRD YAML under
// config/crd/standard/. `go mod download` runs in an empty temporary directory, so no go.mod or go.sum changes;
// it fetches from the Go proxy on first use and answers from the module cache after that.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { applyFile, kubectlOk } from "./client.ts";

const run = promisify(execFile);

export const GATEWAY_API_MODULE = "sigs.k8s.io/gateway-api";
export const GATEWAY_API_VERSION = "v1.2.1";

const DownloadJson = z.object({ Dir: z.string().min(1).optional(), Error: z.string().optional() });

function goBinary(): string {
  if (process.env["GO"]) return process.env["GO"];
  return existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
}

/** Downloads the module into the Go module cache (if missing) and returns its extracted directory. */
export async function gatewayApiModuleDir(version = GATEWAY_API_VERSION): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), "medmlops-gateway-api-"));
  try {
    const { stdout } = await run(
      goBinary(),
      ["mod", "download", "-json", `${GATEWAY_API_MODULE}@${version}`],
      {
        cwd,
        // Outside any module: nothing to tidy or vendor, only the module cache is written.
        env: { ...process.env, GOFLAGS: "-mod=mod", GO111MODULE: "on" },
        timeout: 180_000,
        maxBuffer: 1 << 20,
      },
    ).catch((err: { stdout?: string; message: string }) => {
      // `go mod download -json` exits 1 with the reason in the JSON's Error field.
      if (err.stdout) return { stdout: err.stdout };
      throw err;
    });
    const info = DownloadJson.parse(JSON.parse(stdout));
    if (!info.Dir)
      throw new Error(`go mod download ${GATEWAY_API_MODULE}@${version}: ${info.Error ?? "no Dir"}`);
    return info.Dir;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/**
 * Applies the standard-channel CRDs (server-side, idempotent) and waits until they are Established, so an
 * operator started afterwards finds HTTPRoutes in API discovery. CRDs are cluster-wide and stay installed.
 */
export async function installGatewayApiCrds(version = GATEWAY_API_VERSION): Promise<string[]> {
  const dir = join(await gatewayApiModuleDir(version), "config", "crd", "standard");
  const files = readdirSync(dir)
    .filter((f) => f.startsWith("gateway.networking.k8s.io_") && f.endsWith(".yaml"))
    .sort();
  if (!files.some((f) => f.endsWith("_httproutes.yaml")))
    throw new Error(`${dir} has no HTTPRoute CRD (files: ${files.join(", ")})`);
  const names: string[] = [];
  for (const f of files) {
    await applyFile(join(dir, f));
    // gateway.networking.k8s.io_httproutes.yaml → httproutes.gateway.networking.k8s.io
    const [group, plural] = f.replace(/\.yaml$/, "").split("_") as [string, string];
    names.push(`${plural}.${group}`);
  }
  await kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", ...names.map((n) => `crd/${n}`)]);
  return names;
}
