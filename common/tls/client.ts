/**
 * The client side of transport security for calls to the monitor: a CA file to verify an HTTPS monitor, a
 * client certificate (mTLS) and/or a bearer token from a file. Returns a fetch (undici, with its own connection
 * pool) that carries them; rotated files are picked up without a restart (new pool, old one drained).
 */
import { Agent, fetch as undiciFetch } from "undici";
import { z } from "zod";
import { type FileContents, FileWatch, readAll } from "./files.ts";

export interface ClientTlsFiles {
  /** PEM CA bundle that signs the server's certificate (default: Node's public roots). */
  caFile?: string;
  /** PEM client certificate and key (mTLS). */
  certFile?: string;
  keyFile?: string;
  /** Bearer token file (first line). */
  tokenFile?: string;
}

/** The monitor-client flags every caller of the monitor shares (parseArgs options, env names, help text). */
export const MONITOR_CLIENT_OPTIONS = {
  "monitor-ca": { type: "string" },
  "monitor-cert": { type: "string" },
  "monitor-key": { type: "string" },
  "monitor-token-file": { type: "string" },
} as const;

export const MONITOR_CLIENT_ENV = {
  "monitor-ca": "MEDMLOPS_MONITOR_CA",
  "monitor-cert": "MEDMLOPS_MONITOR_CERT",
  "monitor-key": "MEDMLOPS_MONITOR_KEY",
  "monitor-token-file": "MEDMLOPS_MONITOR_TOKEN_FILE",
} as const;

export const MONITOR_CLIENT_USAGE = `  --monitor-ca F               PEM CA bundle that signed an https:// monitor's certificate ($MEDMLOPS_MONITOR_CA)
  --monitor-cert F             PEM client certificate for a monitor with --client-auth mtls ($MEDMLOPS_MONITOR_CERT)
  --monitor-key F              PEM key of --monitor-cert ($MEDMLOPS_MONITOR_KEY)
  --monitor-token-file F       bearer token for a monitor with --client-auth token ($MEDMLOPS_MONITOR_TOKEN_FILE)`;

const file = z.string().min(1);
export const MonitorClientFlags = z
  .object({
    "monitor-ca": file.optional(),
    "monitor-cert": file.optional(),
    "monitor-key": file.optional(),
    "monitor-token-file": file.optional(),
  })
  .refine((f) => Boolean(f["monitor-cert"]) === Boolean(f["monitor-key"]), {
    message: "--monitor-cert and --monitor-key go together",
  });

/** Flags win; the environment fills the rest. Validates and returns the files (undefined when none). */
export function monitorClientTls(
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): ClientTlsFiles | undefined {
  const merged: Record<string, unknown> = {};
  for (const [flag, name] of Object.entries(MONITOR_CLIENT_ENV))
    merged[flag] = values[flag] ?? (env[name] || undefined);
  const r = MonitorClientFlags.safeParse(merged);
  if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join("; "));
  const f = r.data;
  const files: ClientTlsFiles = {
    ...(f["monitor-ca"] ? { caFile: f["monitor-ca"] } : {}),
    ...(f["monitor-cert"] ? { certFile: f["monitor-cert"] } : {}),
    ...(f["monitor-key"] ? { keyFile: f["monitor-key"] } : {}),
    ...(f["monitor-token-file"] ? { tokenFile: f["monitor-token-file"] } : {}),
  };
  return Object.keys(files).length > 0 ? files : undefined;
}

/** The same files as command-line arguments (the operator hands them on to the pods it builds). */
export function monitorClientArgs(files: ClientTlsFiles | undefined): string[] {
  if (!files) return [];
  return [
    ...(files.caFile ? ["--monitor-ca", files.caFile] : []),
    ...(files.certFile ? ["--monitor-cert", files.certFile] : []),
    ...(files.keyFile ? ["--monitor-key", files.keyFile] : []),
    ...(files.tokenFile ? ["--monitor-token-file", files.tokenFile] : []),
  ];
}

function pathsOf(f: ClientTlsFiles): string[] {
  return [f.caFile, f.certFile, f.keyFile, f.tokenFile].filter((p): p is string => p !== undefined);
}

interface State {
  agent: Agent;
  authorization?: string;
}

function stateOf(f: ClientTlsFiles, c: FileContents): State {
  const token = f.tokenFile ? c.get(f.tokenFile)!.toString("utf8").split(/\r?\n/, 1)[0]!.trim() : undefined;
  if (f.tokenFile && !token) throw new Error(`the token file ${f.tokenFile} is empty`);
  return {
    agent: new Agent({
      connect: {
        ...(f.caFile ? { ca: c.get(f.caFile)! } : {}),
        ...(f.certFile ? { cert: c.get(f.certFile)! } : {}),
        ...(f.keyFile ? { key: c.get(f.keyFile)! } : {}),
      },
    }),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

/**
 * A fetch that presents the client credentials and trusts the CA. Files are read now (a missing file throws,
 * naming it) and re-read every RELOAD_INTERVAL_MS; `onError` hears of a rotated file that cannot be used.
 */
export function securedFetch(
  files: ClientTlsFiles,
  onError: (message: string) => void = () => {},
): typeof fetch {
  const paths = pathsOf(files);
  const initial = readAll(paths);
  let state = stateOf(files, initial);
  new FileWatch(paths, initial, {
    onChange: (c) => {
      const old = state;
      state = stateOf(files, c);
      void old.agent.close().catch(() => {});
    },
    onError,
  }).start();
  const f = (input: string | URL, init?: RequestInit) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    if (state.authorization) headers.authorization = state.authorization;
    return undiciFetch(input, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      headers,
      dispatcher: state.agent,
    });
  };
  return f as unknown as typeof fetch;
}
