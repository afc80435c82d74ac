/**
 * The image builder's view of the Dockerfile, so `npm run image` and `docker build` cannot drift apart:
 *   list          the build context (.dockerignore applied, Docker's semantics), one path a line
 *   layout DIR    the context laid out in DIR as the build stage's COPY lines place it
 *   runs          the build stage's RUN commands, one a line (npm ci, npm run build, npm prune, …)
 *   final         the final stage: one line per `COPY --from=build /app/X ./X` (the paths under /app), then
 *                 `user U:G`, `entrypoint …`, `cmd …` as the Dockerfile says them
 * The parsing of .dockerignore and of the build stage is test/support/docker-context.ts (shared with
 * test/unit/image-build.test.ts, which compiles the same layout).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { contextFiles, layOutBuildContext } from "../../test/support/docker-context.ts";
import { buildStageRuns, finalStage } from "./dockerfile.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const [cmd, arg] = process.argv.slice(2);

if (cmd === "list") {
  process.stdout.write(`${contextFiles(root).join("\n")}\n`);
} else if (cmd === "layout" && arg) {
  layOutBuildContext(root, arg);
} else if (cmd === "runs") {
  process.stdout.write(`${buildStageRuns(readFileSync(join(root, "Dockerfile"), "utf8")).join("\n")}\n`);
} else if (cmd === "final") {
  const f = finalStage(readFileSync(join(root, "Dockerfile"), "utf8"));
  const lines = [
    ...f.appPaths,
    `user ${f.user}`,
    `entrypoint ${f.entrypoint.join(" ")}`,
    `cmd ${f.cmd.join(" ")}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} else {
  process.stderr.write("usage: tsx scripts/image/context.ts list | layout DIR | runs | final\n");
  process.exit(2);
}
