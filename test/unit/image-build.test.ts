import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildStageCopies,
  contextFiles,
  isIgnored,
  layOutBuildContext,
  parseDockerignore,
} from "../support/docker-context.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

function walk(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const path = rel === "" ? e.name : `${rel}/${e.name}`;
    return e.isDirectory() ? walk(dir, path) : [path];
  });
}

describe(".dockerignore semantics", () => {
  const rules = parseDockerignore("test\n**/*.test.ts\n**/testing\nscripts\n!scripts/keep.mjs\n*.key\n");
  it.each([
    ["test/support/mulberry32.ts", true],
    ["inference-sidecar/server.test.ts", true],
    ["inference-sidecar/testing/models.ts", true],
    ["operator/runtime/testing/fake.ts", true],
    ["scripts/start.ts", true],
    ["scripts/keep.mjs", false],
    ["server.key", true],
    ["deid/key.ts", false],
    ["inference-sidecar/server.ts", false],
    ["contest/x.ts", false],
  ])("%s ignored: %s", (path, ignored) => {
    expect(isIgnored(rules, path)).toBe(ignored);
  });

  it("the build stage copies from the context, the final stage only from the build stage", () => {
    const copies = buildStageCopies(readFileSync(join(root, "Dockerfile"), "utf8"));
    expect(copies.length).toBeGreaterThan(0);
    expect(copies.flatMap((c) => c.sources)).toContain("package-lock.json");
  });
});

// The image's build stage, without Docker: the context .dockerignore lets through, laid out by the Dockerfile's
// COPY lines, compiled with the Dockerfile's `npm run build`. node_modules is the checkout's (the image runs
// `npm ci` on the same lock file); what `npm prune --omit=dev` removes is checked through the imports.
describe("the image build context", () => {
  let dir: string;
  let build: { status: number | null; stdout: string; stderr: string };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "medmlops-image-"));
    layOutBuildContext(root, dir);
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    build = spawnSync("npm", ["run", "-s", "build"], { cwd: dir, encoding: "utf8" });
  }, 300_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("holds no test code and no local state", () => {
    const files = contextFiles(root);
    expect(files).toContain("cli/main.ts");
    expect(files).toContain("package-lock.json");
    const leaked = files.filter((f) =>
      /(^|\/)(test|testing|bench|docs|charts|\.medmlops)\/|\.test\.ts$|test-support\.ts$|\.(pem|key)$/.test(
        f,
      ),
    );
    expect(leaked).toEqual([]);
  });

  it("compiles exactly as the Dockerfile lays it out", () => {
    expect(build.stderr + build.stdout).not.toMatch(/error TS/);
    expect(build.status).toBe(0);
  });

  it("dist holds no test code", () => {
    const dist = walk(join(dir, "dist"));
    expect(dist).toContain("cli/main.js");
    expect(dist.filter((f) => /\.test\.js|\/testing\/|test-support|fixtures\.js|^test\//.test(f))).toEqual(
      [],
    );
  });

  it("dist imports only Node built-ins and production dependencies (npm prune --omit=dev keeps them)", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: object };
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const missing = new Set<string>();
    for (const file of walk(join(dir, "dist")).filter((f) => f.endsWith(".js"))) {
      const text = readFileSync(join(dir, "dist", file), "utf8");
      const specifiers = [
        ...text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?from\s*"([^"]+)"/g),
        ...text.matchAll(/(?:import|require(?:\.resolve)?)\(\s*"([^"]+)"\s*\)/g),
        ...text.matchAll(/^import\s+"([^"]+)"/gm),
      ].map((m) => m[1]!);
      for (const s of specifiers) {
        if (s.startsWith(".") || s.startsWith("node:")) continue;
        const name = s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!;
        if (!allowed.has(name)) missing.add(`${file}: ${s}`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it("non-TypeScript assets the code reads beside itself (SQL migrations) are copied into dist", () => {
    const sql = contextFiles(root).filter((f) => f.endsWith(".sql"));
    const dist = new Set(walk(join(dir, "dist")));
    expect(sql.filter((f) => !dist.has(f))).toEqual([]);
  });

  it("the compiled CLI runs from dist", () => {
    const r = spawnSync(process.execPath, [join(dir, "bin/medmlops.js"), "--help"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const name of ["operator", "sidecar", "deid"]) expect(r.stdout).toContain(`  ${name}`);
  });
});
