/**
 * Transport security for the two servers (inference sidecar, monitor): TLS from mounted PEM files reloaded on
 * rotation without a restart, and client authentication — a client certificate signed by a CA file (mTLS) or a
 * bearer token from a file — on the routes the server marks as protected. Health routes stay open so kubelet
 * probes (HTTPS scheme, no client certificate, certificate not verified) keep working.
 */
import { constants, createHash, timingSafeEqual } from "node:crypto";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerOptions as HttpOptions,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createSecureContext, type TLSSocket } from "node:tls";
import { z } from "zod";
import { type FileContents, FileWatch, readAll } from "./files.ts";

export const CLIENT_AUTH_MODES = ["none", "mtls", "token"] as const;
export type ClientAuthMode = (typeof CLIENT_AUTH_MODES)[number];

/** What a server is told on its command line (flags win over the environment). */
export interface ServerSecurity {
  /** PEM certificate chain and key; absent = plain HTTP (e.g. behind a mesh that terminates mTLS). */
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  clientAuth: ClientAuthMode;
  /** The bearer token file (clientAuth token); its first line is the token. */
  tokenFile?: string;
}

/** The flags both servers share, as parseArgs options and as zod (strings, all optional). */
export const SERVER_SECURITY_OPTIONS = {
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  "client-auth": { type: "string" },
  "auth-token-file": { type: "string" },
} as const;

export const SERVER_SECURITY_ENV = {
  "tls-cert": "MEDMLOPS_TLS_CERT",
  "tls-key": "MEDMLOPS_TLS_KEY",
  "tls-client-ca": "MEDMLOPS_TLS_CLIENT_CA",
  "client-auth": "MEDMLOPS_CLIENT_AUTH",
  "auth-token-file": "MEDMLOPS_AUTH_TOKEN_FILE",
} as const;

export const SERVER_SECURITY_USAGE = `  --tls-cert F                PEM certificate chain: serve HTTPS (e.g. tls.crt of a cert-manager Secret); re-read on change ($MEDMLOPS_TLS_CERT)
  --tls-key F                 PEM private key of --tls-cert (tls.key) ($MEDMLOPS_TLS_KEY)
  --tls-client-ca F           PEM CA bundle client certificates must chain to (ca.crt; needed by --client-auth mtls) ($MEDMLOPS_TLS_CLIENT_CA)
  --client-auth M             none (default), mtls (a client certificate from --tls-client-ca) or token
                              (Authorization: Bearer, compared in constant time); health routes stay open ($MEDMLOPS_CLIENT_AUTH)
  --auth-token-file F         the bearer token (first line of F; re-read on change) for --client-auth token ($MEDMLOPS_AUTH_TOKEN_FILE)`;

const file = z.string().min(1);

export const ServerSecurityFlags = z
  .object({
    "tls-cert": file.optional(),
    "tls-key": file.optional(),
    "tls-client-ca": file.optional(),
    "client-auth": z
      .enum(CLIENT_AUTH_MODES, { error: "--client-auth must be none, mtls or token" })
      .default("none"),
    "auth-token-file": file.optional(),
  })
  .superRefine((f, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: "custom", message });
    if (Boolean(f["tls-cert"]) !== Boolean(f["tls-key"])) issue("--tls-cert and --tls-key go together");
    if (f["client-auth"] === "mtls" && !(f["tls-cert"] && f["tls-client-ca"]))
      issue("--client-auth mtls needs --tls-cert, --tls-key and --tls-client-ca");
    if (f["client-auth"] === "token" && !f["auth-token-file"])
      issue("--client-auth token needs --auth-token-file");
    if (f["tls-client-ca"] && f["client-auth"] !== "mtls")
      issue("--tls-client-ca is only used with --client-auth mtls");
    if (f["auth-token-file"] && f["client-auth"] !== "token")
      issue("--auth-token-file is only used with --client-auth token");
  });
export type ServerSecurityFlagValues = z.input<typeof ServerSecurityFlags>;

/** The environment fills what no flag gave. */
export function withSecurityEnv<T extends Record<string, unknown>>(values: T, env: NodeJS.ProcessEnv): T {
  const out: Record<string, unknown> = { ...values };
  for (const [flag, name] of Object.entries(SERVER_SECURITY_ENV))
    if (out[flag] === undefined && env[name]) out[flag] = env[name];
  return out as T;
}

export function serverSecurity(f: z.output<typeof ServerSecurityFlags>): ServerSecurity {
  return {
    ...(f["tls-cert"] && f["tls-key"]
      ? {
          tls: {
            certFile: f["tls-cert"],
            keyFile: f["tls-key"],
            ...(f["tls-client-ca"] ? { clientCaFile: f["tls-client-ca"] } : {}),
          },
        }
      : {}),
    clientAuth: f["client-auth"],
    ...(f["auth-token-file"] ? { tokenFile: f["auth-token-file"] } : {}),
  };
}

/** The stable refusal a protected route answers without the credential. */
export interface AuthRefusal {
  status: 401;
  code: "CLIENT_CERT_REQUIRED" | "INVALID_TOKEN";
  error: string;
  /** Header to send with it (RFC 6750 for bearer tokens). */
  wwwAuthenticate?: string;
}

function tokenOf(contents: Buffer): Buffer {
  const line = contents.toString("utf8").split(/\r?\n/, 1)[0]!.trim();
  if (line.length < 16) throw new Error("the token file must hold a token of at least 16 characters");
  return createHash("sha256").update(line).digest();
}

/**
 * One server's transport security at run time: the HTTP(S) server to hand fastify, the credential check, and a
 * watch that re-applies rotated certificates (server.setSecureContext) and tokens without dropping connections.
 * Reading a file fails loudly at start; a bad file later keeps the previous one and is reported through onError.
 */
export class ServerGuard {
  #tokenDigest: Buffer | undefined;
  #watch: FileWatch | undefined;
  #server: Server | undefined;

  constructor(
    readonly security: ServerSecurity,
    private readonly onError: (message: string) => void = () => {},
    private readonly intervalMs?: number,
  ) {}

  get scheme(): "http" | "https" {
    return this.security.tls ? "https" : "http";
  }

  #paths(): string[] {
    const t = this.security.tls;
    return [
      ...(t ? [t.certFile, t.keyFile, ...(t.clientCaFile ? [t.clientCaFile] : [])] : []),
      ...(this.security.tokenFile ? [this.security.tokenFile] : []),
    ];
  }

  #secure(c: FileContents): { cert: Buffer; key: Buffer; ca?: Buffer } | undefined {
    const t = this.security.tls;
    if (!t) return undefined;
    return {
      cert: c.get(t.certFile)!,
      key: c.get(t.keyFile)!,
      ...(t.clientCaFile ? { ca: c.get(t.clientCaFile)! } : {}),
    };
  }

  /** Reads and checks every file now (readable, key matches certificate, token long enough); throws naming the problem. */
  preflight(): void {
    const contents = readAll(this.#paths());
    if (this.security.tokenFile) tokenOf(contents.get(this.security.tokenFile)!);
    const secure = this.#secure(contents);
    if (secure) createSecureContext(secure);
  }

  /** Builds the server (HTTPS when a certificate is configured) and starts watching the files. */
  createServer(options: HttpOptions, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
    const contents = readAll(this.#paths());
    if (this.security.tokenFile) this.#tokenDigest = tokenOf(contents.get(this.security.tokenFile)!);
    const secure = this.#secure(contents);
    // requestCert without rejectUnauthorized: the handshake succeeds without a certificate, so probes reach the
    // open routes and a refused client gets the JSON 401 instead of a bare TLS alert.
    const server: Server = secure
      ? (createHttpsServer(
          {
            ...options,
            ...secure,
            minVersion: "TLSv1.2",
            requestCert: this.security.clientAuth === "mtls",
            rejectUnauthorized: false,
            // No session resumption under mTLS: a resumed session reports `authorized` without a new check of
            // the client's certificate (seen: a certificate-less client resuming a session read authorized).
            ...(this.security.clientAuth === "mtls" ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
          },
          handler,
        ) as unknown as Server)
      : createHttpServer(options, handler);
    this.#server = server;
    this.#watch = new FileWatch(this.#paths(), contents, {
      ...(this.intervalMs ? { intervalMs: this.intervalMs } : {}),
      onChange: (c) => this.#apply(c),
      onError: this.onError,
    }).start();
    server.once("close", () => this.stop());
    return server;
  }

  #apply(c: FileContents): void {
    const secure = this.#secure(c);
    const token = this.security.tokenFile ? tokenOf(c.get(this.security.tokenFile)!) : undefined;
    // setSecureContext throws on a key that does not match its certificate: the old context stays.
    if (secure) (this.#server as unknown as import("node:tls").Server).setSecureContext(secure);
    if (token) this.#tokenDigest = token;
  }

  /** Re-reads the files now (tests; the watch does it every RELOAD_INTERVAL_MS). */
  reloadNow(): void {
    this.#watch?.check();
  }

  stop(): void {
    this.#watch?.stop();
  }

  /** undefined when the request may pass; the refusal otherwise. Call only for protected routes. */
  check(req: IncomingMessage): AuthRefusal | undefined {
    switch (this.security.clientAuth) {
      case "none":
        return undefined;
      case "mtls": {
        const socket = req.socket as TLSSocket;
        // authorized: the handshake verified a certificate against --tls-client-ca; and there must be one.
        if (socket.encrypted && socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0)
          return undefined;
        return {
          status: 401,
          code: "CLIENT_CERT_REQUIRED",
          error: "a client certificate signed by the configured CA is required",
        };
      }
      case "token": {
        const refusal: AuthRefusal = {
          status: 401,
          code: "INVALID_TOKEN",
          error: "a valid bearer token is required (Authorization: Bearer <token>)",
          wwwAuthenticate: 'Bearer realm="medmlops"',
        };
        const header = req.headers.authorization;
        const m = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
        if (!m || !this.#tokenDigest) return refusal;
        // Both sides hashed first: equal lengths, so the comparison time says nothing about the token.
        const given = createHash("sha256").update(m[1]!).digest();
        return timingSafeEqual(given, this.#tokenDigest) ? undefined : refusal;
      }
    }
  }
}
