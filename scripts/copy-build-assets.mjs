// Part of `npm run build`: copies the non-TypeScript files the compiled code reads beside itself (e.g. the
// monitor's SQL migrations, found through `new URL("../migrations/", import.meta.url)`) from the folders
// tsconfig.build.json compiles into dist/, keeping their relative paths. Plain JavaScript so the image's build
// stage needs nothing but Node to run it.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join, relative } from "node:path";

const ASSET_EXTENSIONS = new Set([".sql"]);
const SKIPPED_DIRS = new Set(["node_modules", "dist", "testing"]);

const root = process.cwd();
const config = JSON.parse(readFileSync(join(root, "tsconfig.build.json"), "utf8"));

function* assets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) yield* assets(path);
    } else if (ASSET_EXTENSIONS.has(extname(entry.name))) {
      yield path;
    }
  }
}

let copied = 0;
for (const folder of config.include) {
  const dir = join(root, folder);
  if (!existsSync(dir)) continue;
  for (const file of assets(dir)) {
    const target = join(root, "dist", relative(root, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
    copied++;
  }
}
console.log(`build assets: ${copied} file(s) copied into dist/`);
