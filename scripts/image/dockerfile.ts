/**
 * What the Dockerfile's final stage puts in the image: the paths it copies from the build stage into /app, its
 * USER, ENTRYPOINT and CMD. `npm run image` builds the same image without Docker from these (scripts/image/build.sh).
 */
export interface FinalStage {
  /** Paths under /app, as copied by `COPY --from=build /app/X ./X` (or `/app/X`). */
  appPaths: string[];
  user: string;
  entrypoint: string[];
  cmd: string[];
}

function jsonOrShell(rest: string): string[] {
  const t = rest.trim();
  return t.startsWith("[") ? (JSON.parse(t) as string[]) : ["/bin/sh", "-c", t];
}

export function finalStage(dockerfile: string): FinalStage {
  const lines = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim());
  const froms = lines.flatMap((l, i) => (/^FROM\s/i.test(l) ? [i] : []));
  const last = lines.slice(froms.at(-1) ?? 0);
  const out: FinalStage = { appPaths: [], user: "0:0", entrypoint: [], cmd: [] };
  let workdir = "/";
  for (const line of last) {
    const [instr = "", ...args] = line.split(/\s+/);
    const rest = line.slice(instr.length);
    switch (instr.toUpperCase()) {
      case "WORKDIR":
        workdir = args[0] ?? "/";
        break;
      case "COPY": {
        if (!args.some((a) => a.startsWith("--from="))) break;
        const paths = args.filter((a) => !a.startsWith("--"));
        const dest = paths.at(-1) ?? "";
        const abs = dest.startsWith("/")
          ? dest
          : `${workdir.replace(/\/$/, "")}/${dest.replace(/^\.\//, "")}`;
        if (!abs.startsWith("/app/")) throw new Error(`Dockerfile: COPY --from to ${abs}, outside /app`);
        out.appPaths.push(abs.slice("/app/".length).replace(/\/$/, ""));
        break;
      }
      case "USER":
        out.user = args[0] ?? "0:0";
        break;
      case "ENTRYPOINT":
        out.entrypoint = jsonOrShell(rest);
        break;
      case "CMD":
        out.cmd = jsonOrShell(rest);
        break;
    }
  }
  return out;
}

/** The shell commands of the first (build) stage's RUN instructions, in order (shell form only). */
export function buildStageRuns(dockerfile: string): string[] {
  const lines = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim());
  const runs: string[] = [];
  let stage = -1;
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stage++;
    if (stage !== 0 || !/^RUN\s/i.test(line)) continue;
    const cmd = line.slice(3).trim();
    if (cmd.startsWith("[") || cmd.startsWith("--"))
      throw new Error(`Dockerfile: unsupported RUN form: ${line}`);
    runs.push(cmd);
  }
  return runs;
}
