/**
 * Lays out a Docker build context without Docker: the files `.dockerignore` lets through, copied where the
 * build stage's COPY instructions put them. The image test compiles that layout, so CI proves the Dockerfile
 * builds from the repository as it really is (the image builder in test/cluster may reuse this as well).
 *
 * `.dockerignore` semantics follow Docker's (moby/patternmatcher): one pattern a line, `#` comments, `!`
 * re-includes, `*` and `?` never cross `/`, `**` spans folders, a pattern that matches a folder matches
 * everything below it, and the last matching pattern wins.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";

interface IgnoreRule {
  regex: RegExp;
  exclude: boolean;
}

function patternRegex(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        if (pattern[i + 1] === "/") {
          i++;
          out += "(?:.*/)?";
        } else {
          out += ".*";
        }
      } else {
        out += "[^/]*";
      }
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) throw new Error(`.dockerignore: unterminated [ in ${pattern}`);
      out += `[${pattern
        .slice(i + 1, end)
        .replace(/^!/, "^")
        .replace(/\\/g, "\\\\")}]`;
      i = end;
    } else if (c === "\\" && i + 1 < pattern.length) {
      out += `\\${pattern[++i]}`;
    } else {
      out += c.replace(/[.+^${}()|\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${out}$`);
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split("\n")) {
    let line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const exclude = !line.startsWith("!");
    if (!exclude) line = line.slice(1).trim();
    const cleaned = posix.normalize(line).replace(/^\/+/, "").replace(/\/+$/, "");
    rules.push({ regex: patternRegex(cleaned), exclude });
  }
  return rules;
}

/** True when `path` (relative, `/`-separated) is left out of the context. */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.regex.test(p))) ignored = rule.exclude;
  }
  return ignored;
}

/** Every file of the build context, relative to `root`. */
export function contextFiles(root: string): string[] {
  const rules = parseDockerignore(readFileSync(join(root, ".dockerignore"), "utf8"));
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        // Docker walks into an ignored folder only when a later `!` rule could re-include something in it;
        // walking always and testing each file gives the same answer.
        if (entry.name === ".git" || entry.name === "node_modules") continue;
        walk(path);
      } else if (!isIgnored(rules, path)) {
        out.push(path);
      }
    }
  };
  walk("");
  return out.sort();
}

export interface CopyInstruction {
  sources: string[];
  dest: string;
}

/** The COPY instructions of the first (build) stage that copy from the context (not `--from`). */
export function buildStageCopies(dockerfile: string): CopyInstruction[] {
  const lines = dockerfile.replace(/\\\n/g, " ").split("\n");
  const copies: CopyInstruction[] = [];
  let stage = -1;
  for (const line of lines.map((l) => l.trim())) {
    if (/^FROM\s/i.test(line)) stage++;
    if (stage !== 0 || !/^COPY\s/i.test(line)) continue;
    const args = line.split(/\s+/).slice(1);
    if (args.some((a) => a.startsWith("--from"))) continue;
    const paths = args.filter((a) => !a.startsWith("--"));
    copies.push({ sources: paths.slice(0, -1), dest: paths.at(-1)! });
  }
  return copies;
}

/** Copies the context into `dest` the way the build stage's COPY instructions do (WORKDIR = `dest`). */
export function layOutBuildContext(root: string, dest: string): void {
  const files = contextFiles(root);
  const copies = buildStageCopies(readFileSync(join(root, "Dockerfile"), "utf8"));
  const place = (file: string, target: string): void => {
    mkdirSync(dirname(join(dest, target)), { recursive: true });
    cpSync(join(root, file), join(dest, target));
  };
  for (const { sources, dest: to } of copies) {
    const intoFolder = to.endsWith("/") || to === "." || sources.length > 1;
    for (const source of sources) {
      const src = posix.normalize(source).replace(/\/+$/, "");
      if (files.includes(src)) {
        // A file: into the folder under its own name, or to the destination path itself.
        place(src, intoFolder ? posix.join(to, posix.basename(src)) : to);
        continue;
      }
      // A folder (or the whole context): its contents go into the destination.
      const under = src === "." ? files : files.filter((f) => f.startsWith(`${src}/`));
      if (under.length === 0)
        throw new Error(`COPY ${source}: not in the build context (the image build would fail)`);
      for (const file of under) place(file, posix.join(to, src === "." ? file : file.slice(src.length + 1)));
    }
  }
}
