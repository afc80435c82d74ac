/**
 * `medmlops audit verify|export`: the reviewer's side of the governance audit log (docs/audit.md).
 *
 * verify: recomputes the hash chain, from the monitor (--monitor-url) or from an export file (--file), and names
 *         the first broken entry. Exit 0 intact, 4 broken, 1 the monitor could not be read, 2 usage.
 * export: writes the entries in [--since, --until) as JSON lines (one entry per line, with seq, prevHash and
 *         hash, so the export itself can be verified with `audit verify --file`).
 */
import { createWriteStream, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { EXIT } from "../../common/exit-codes.ts";
import {
  type ClientTlsFiles,
  MONITOR_CLIENT_OPTIONS,
  MONITOR_CLIENT_USAGE,
  monitorClientTls,
} from "../../common/tls/client.ts";
import { MonitorClient } from "../client.ts";
import { type AuditEntry, AuditEntrySchema } from "./entry.ts";
import { describeBreak, verifyChain } from "./verify.ts";

export const USAGE = `usage: medmlops audit verify (--monitor-url URL | --file FILE)
       medmlops audit export --monitor-url URL [--since T] [--until T] [--out FILE]
  --monitor-url URL   the monitor (env MEDMLOPS_MONITOR_URL)
  --file FILE         verify an export (JSON lines) instead; a partial export is checked from its first entry
  --since T, --until T  RFC 3339 bounds of the export: since <= at < until
  --out FILE          write the export here instead of stdout
an https:// monitor (the chart's default) and its client credentials:
${MONITOR_CLIENT_USAGE}
exit codes: 0 ok, 1 the monitor or file could not be read, 2 usage, 4 the chain is broken (verify)`;

function readExport(path: string): AuditEntry[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l, i) => {
      const parsed = AuditEntrySchema.safeParse(JSON.parse(l));
      if (!parsed.success) throw new Error(`line ${i + 1} is not an audit entry`);
      return parsed.data as AuditEntry;
    });
}

async function collect(it: AsyncIterable<AuditEntry>): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

function validTime(v: string | undefined, flag: string): string | undefined {
  if (v === undefined) return undefined;
  if (Number.isNaN(Date.parse(v))) throw new Error(`${flag} must be an RFC 3339 time`);
  return new Date(v).toISOString();
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === "--help" || verb === "-h") {
    (verb ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return verb ? EXIT.ok : EXIT.usage;
  }
  let values: Record<string, string | undefined>;
  let tls: ClientTlsFiles | undefined;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        "monitor-url": { type: "string" },
        file: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        out: { type: "string" },
        ...MONITOR_CLIENT_OPTIONS,
      },
      strict: true,
      allowPositionals: false,
    }));
    if (verb !== "verify" && verb !== "export") throw new Error(`unknown audit command "${verb}"`);
    values.since = validTime(values.since, "--since");
    values.until = validTime(values.until, "--until");
    tls = monitorClientTls(values, process.env);
  } catch (e) {
    process.stderr.write(`audit: ${(e as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const monitorUrl = values["monitor-url"] ?? process.env.MEDMLOPS_MONITOR_URL;
  if (verb === "verify") {
    if (!values.file && !monitorUrl) {
      process.stderr.write(`audit: verify needs --monitor-url or --file\n${USAGE}\n`);
      return EXIT.usage;
    }
    let entries: AuditEntry[];
    try {
      entries = values.file
        ? readExport(values.file)
        : await collect(new MonitorClient(monitorUrl as string, tls ? { tls } : {}).listAudit());
    } catch (e) {
      process.stderr.write(`audit: cannot read the log: ${(e as Error).message}\n`);
      return EXIT.failure;
    }
    // A file may be a partial export (--since): its first entry links outside it, so only its own links count.
    const partial = values.file !== undefined && (entries[0]?.seq ?? 1) !== 1;
    const result = verifyChain(entries, partial ? null : undefined);
    if (result.firstBreak) {
      process.stdout.write(
        `${JSON.stringify({ ok: false, brokenAt: result.firstBreak.seq, problem: result.firstBreak.problem })}\n`,
      );
      process.stderr.write(`audit: chain broken: ${describeBreak(result.firstBreak)}\n`);
      return EXIT.integrity;
    }
    process.stdout.write(`${JSON.stringify({ ok: true, entries: result.entries, head: result.head })}\n`);
    return EXIT.ok;
  }
  if (!monitorUrl) {
    process.stderr.write(`audit: export needs --monitor-url\n${USAGE}\n`);
    return EXIT.usage;
  }
  const out = values.out ? createWriteStream(values.out) : process.stdout;
  let n = 0;
  try {
    for await (const e of new MonitorClient(monitorUrl, tls ? { tls } : {}).listAudit({
      ...(values.since ? { since: values.since } : {}),
      ...(values.until ? { until: values.until } : {}),
    })) {
      out.write(`${JSON.stringify(e)}\n`);
      n++;
    }
  } catch (e) {
    process.stderr.write(`audit: export failed after ${n} entries: ${(e as Error).message}\n`);
    return EXIT.failure;
  } finally {
    if (out !== process.stdout) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(() => r()));
  }
  process.stderr.write(`audit: exported ${n} entries\n`);
  return EXIT.ok;
}
