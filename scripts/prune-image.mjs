// Part of the image build (the Dockerfile's build stage, and so `npm run image` too), after `npm prune --omit=dev`:
//  - onnxruntime-node ships its native library for every platform (darwin, win32, linux arm64/x64: ~230 MB more
//    than one); the image keeps only the platform and architecture it is built for;
//  - npm prune leaves the scope folders of removed dev packages (@biomejs, @esbuild…) behind, empty.
// Plain JavaScript so the build stage needs nothing but Node to run it. Run from the app folder.
import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const ortBin = join("node_modules", "onnxruntime-node", "bin");
let removed = 0;
if (existsSync(ortBin)) {
  for (const napi of readdirSync(ortBin)) {
    for (const platform of readdirSync(join(ortBin, napi))) {
      const dir = join(ortBin, napi, platform);
      if (platform !== process.platform) {
        rmSync(dir, { recursive: true, force: true });
        removed++;
        continue;
      }
      for (const arch of readdirSync(dir)) {
        if (arch !== process.arch) {
          rmSync(join(dir, arch), { recursive: true, force: true });
          removed++;
        }
      }
    }
  }
  const kept = join(ortBin, readdirSync(ortBin)[0] ?? "", process.platform, process.arch);
  if (!existsSync(kept)) throw new Error(`prune-image: no onnxruntime-node binary for ${process.platform}/${process.arch}`);
}
for (const entry of readdirSync("node_modules")) {
  const dir = join("node_modules", entry);
  if (entry.startsWith("@") && readdirSync(dir).length === 0) rmdirSync(dir);
}
console.log(`prune-image: removed ${removed} onnxruntime-node folders of other platforms`);
