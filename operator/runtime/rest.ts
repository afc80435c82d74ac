import http from "node:http";
import https from "node:https";
import { createInterface } from "node:readline";
import type { KubeConfig } from "@kubernetes/client-node";

/**
 * A thin JSON client for the Kubernetes REST API, authenticated by client-node's KubeConfig.
 *
 * Why not client-node's typed APIs / KubernetesObjectApi: they pass bodies through ObjectSerializer (unknown fields
 * dropped, timestamps turned into Date), and KubeConfig.applySecurityAuthentication builds a new undici Agent —
 * a new TLS connection — for every request. Here one keep-alive agent is reused and bodies stay plain JSON.
 * Credentials (bearer tokens that rotate, exec plugins) are re-read for every request through applyToHTTPSOptions.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409;
}
export function isGone(err: unknown): boolean {
  return err instanceof ApiError && err.status === 410;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /**
   * Use a new connection instead of the keep-alive pool. Informers do (list and watch are rare and long): after
   * a watch went silent, a pooled socket may be just as dead, and a relist must not hang on it.
   */
  fresh?: boolean;
}

export interface StreamOptions {
  query?: Query;
  /** As RequestOptions.fresh; streams default to a fresh connection. */
  fresh?: boolean;
  signal: AbortSignal;
  onLine: (line: string) => void;
}

export interface RestClient {
  request<T>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  /** GETs a streaming response (watch) and calls onLine per line; resolves when the server closes the stream. */
  stream(path: string, opts: StreamOptions): Promise<void>;
}

export function restClientFromKubeConfig(kc: KubeConfig): RestClient {
  return new KubeRestClient(kc);
}

class KubeRestClient implements RestClient {
  private readonly server: URL;
  private agent: http.Agent | undefined;
  private freshAgent: http.Agent | undefined;

  constructor(private readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.server = new URL(cluster.server);
  }

  private async options(
    method: string,
    path: string,
    query?: Query,
    fresh = false,
  ): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    if (!this.agent || !this.freshAgent) {
      this.agent = this.makeAgent(opts, true);
      this.freshAgent = this.makeAgent(opts, false);
    }
    const basePath = this.server.pathname.replace(/\/$/, "");
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const search = qs.size > 0 ? `?${qs}` : "";
    return {
      method,
      protocol: this.server.protocol,
      hostname: this.server.hostname.replace(/^\[|\]$/g, ""),
      port: this.server.port || (this.server.protocol === "https:" ? 443 : 80),
      path: `${basePath}${path}${search}`,
      agent: fresh ? this.freshAgent : this.agent,
      headers: { Accept: "application/json", ...(opts.headers ?? {}) },
      ...(opts.auth ? { auth: opts.auth } : {}),
    };
  }

  private makeAgent(opts: https.RequestOptions, keepAlive: boolean): http.Agent {
    const isHttps = this.server.protocol === "https:";
    return isHttps
      ? new https.Agent({
          keepAlive,
          ca: opts.ca,
          cert: opts.cert,
          key: opts.key,
          pfx: opts.pfx,
          passphrase: opts.passphrase,
          servername: opts.servername,
          ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
        })
      : new http.Agent({ keepAlive });
  }

  private send(
    opts: https.RequestOptions,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<http.IncomingMessage> {
    const mod = opts.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request({ ...opts, ...(signal ? { signal } : {}) }, resolve);
      req.on("error", reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const opts = await this.options(method, path, o.query, o.fresh);
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    if (body !== undefined) {
      opts.headers = { ...opts.headers, "Content-Type": o.contentType ?? "application/json" };
    }
    const signal = o.timeoutMs
      ? o.signal
        ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)])
        : AbortSignal.timeout(o.timeoutMs)
      : o.signal;
    const res = await this.send(opts, body, signal);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw toApiError(method, path, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async stream(path: string, o: StreamOptions): Promise<void> {
    const opts = await this.options("GET", path, o.query, o.fresh ?? true);
    const res = await this.send(opts, undefined, o.signal);
    const status = res.statusCode ?? 0;
    if (status !== 200) throw toApiError("GET", path, status, await readAll(res));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on("line", (line) => {
        if (line) o.onLine(line);
      });
      // readline re-emits input errors on the interface: without this listener a reset connection would be an
      // uncaught exception instead of a rejected watch.
      lines.on("error", reject);
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("watch stream aborted")));
      lines.on("close", () => (res.complete ? resolve() : reject(new Error("watch stream closed early"))));
    });
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
    res.on("close", () => {
      if (!res.complete) reject(new Error("response closed before it was complete"));
    });
  });
}

function toApiError(method: string, path: string, status: number, text: string): ApiError {
  let reason = "";
  let message = "";
  let details: unknown;
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string; details?: unknown };
    reason = s.reason ?? "";
    message = s.message ?? "";
    details = s.details;
  } catch {
    message = text.slice(0, 200);
  }
  return new ApiError(status, reason, `${method} ${path}: ${status} ${reason} ${message}`.trim(), details);
}
