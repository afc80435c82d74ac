/**
 * Runs the chart's Argo CD health checks (charts/medmlops/argocd/<Kind>.lua) the way Argo CD does: the object as
 * the global `obj` table, the script's returned table read back. Uses Debian's lua5.4 (`.ci/setup.d/70-lua.sh`
 * installs it; MEDMLOPS_LUA overrides the path). A missing interpreter fails the test, it never skips.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const ARGOCD_DIR = join(ROOT, "charts", "medmlops", "argocd");

export interface Health {
  status: string;
  message: string;
}

function lua(): string {
  const candidates = [process.env.MEDMLOPS_LUA, "/usr/bin/lua5.4", "/usr/local/bin/lua5.4"].filter(Boolean);
  const found = candidates.find((p) => existsSync(p as string));
  if (!found)
    throw new Error(
      "lua5.4 not found: run `bash .ci/setup.d/70-lua.sh` (apt-get install lua5.4) or set MEDMLOPS_LUA",
    );
  return found as string;
}

/** A JSON value as a Lua table constructor (null dropped, as Argo CD's conversion leaves such keys nil). */
export function toLua(v: unknown): string {
  if (v === null || v === undefined) return "nil";
  if (typeof v === "string")
    return JSON.stringify(v).replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => `\\u{${h}}`);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `{${v.map(toLua).join(",")}}`;
  return `{${Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== null && x !== undefined)
    .map(([k, x]) => `[${toLua(k)}]=${toLua(x)}`)
    .join(",")}}`;
}

/** The health Argo CD would show for `obj` (a MedModel, ValidationPolicy, RetrainJob or ConsentRecord). */
export function argoHealth(kind: string, obj: unknown): Health {
  const script = join(ARGOCD_DIR, `${kind}.lua`);
  const program = `obj = ${toLua(obj)}
local hs = assert(loadfile(${toLua(script)}))()
io.write(hs.status, "\\n", hs.message or "")`;
  const out = execFileSync(lua(), ["-"], { input: program, encoding: "utf8" });
  const [status = "", ...rest] = out.split("\n");
  return { status, message: rest.join("\n") };
}
