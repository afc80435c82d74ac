// The import rule of docs/architecture.md: a controller imports the runtime, operator/kinds.ts and crds/, never
// another controller; the runtime imports no controller. Checked on the source, so a new controller folder is
// covered the day it is added.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const operatorDir = join(root, "operator");
/** Folders under operator/ that are not controllers. */
const NOT_CONTROLLERS = new Set(["runtime", "fetch"]);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const src = readFileSync(file, "utf8");
  const specs = [...src.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith(".")).map((s) => relative(root, resolve(join(file, ".."), s)));
}

const controllers = readdirSync(operatorDir).filter(
  (d) => statSync(join(operatorDir, d)).isDirectory() && !NOT_CONTROLLERS.has(d),
);

describe("operator import rule", () => {
  it("finds the controllers", () => {
    expect(controllers).toContain("medmodel");
  });

  for (const c of controllers) {
    it(`${c}/ imports no other controller`, () => {
      const bad = tsFiles(join(operatorDir, c)).flatMap((f) =>
        importsOf(f)
          .filter((i) => controllers.some((o) => o !== c && i.startsWith(`operator/${o}/`)))
          .map((i) => `${relative(root, f)} → ${i}`),
      );
      expect(bad).toEqual([]);
    });
  }

  it("the runtime and kinds.ts import no controller", () => {
    const files = [...tsFiles(join(operatorDir, "runtime")), join(operatorDir, "kinds.ts")];
    const bad = files.flatMap((f) =>
      importsOf(f)
        .filter((i) => controllers.some((c) => i.startsWith(`operator/${c}/`)))
        .map((i) => `${relative(root, f)} → ${i}`),
    );
    expect(bad).toEqual([]);
  });
});
