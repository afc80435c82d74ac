/**
 * The node HTTP(S) server under the sidecar's fastify instances (inference and metrics ports) and the answer to
 * requests Node's parser refuses before fastify sees them.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { ServerGuard } from "../common/tls/server.ts";
import { type ErrorCode, SidecarError } from "./errors.ts";

/**
 * The HTTP server under fastify. Node's defaults let a slow client hold a connection for about a minute (headers
 * timeout 60 s, checked every 30 s) whatever --request-timeout-ms says: here headers and the whole request must
 * arrive within the request timeout, checked often enough to be close to it, and connections are capped.
 */
export function httpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  cfg: { requestTimeoutMs: number; maxConnections?: number | undefined },
  guard: ServerGuard = new ServerGuard({ clientAuth: "none" }),
): Server {
  const timeout = cfg.requestTimeoutMs;
  const server = guard.createServer(
    {
      requestTimeout: timeout,
      headersTimeout: timeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeout / 10))),
    },
    handler,
  );
  server.maxConnections = cfg.maxConnections ?? 1024;
  return server;
}

/**
 * Errors Node's HTTP parser raises before a request reaches fastify (malformed requests, bytes beyond a
 * Content-Length, headers too large, timeouts), answered in the sidecar's own {error, code} format.
 */
export function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const [code, message]: [ErrorCode, string] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? ["HEADERS_TOO_LARGE", "request headers are too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? ["REQUEST_TIMEOUT", "the request did not arrive within the request timeout"]
        : ["BAD_REQUEST", "malformed HTTP request (e.g. more body bytes than its Content-Length)"];
  const e = new SidecarError(code, message);
  const body = JSON.stringify(e.toJSON());
  socket.end(
    `HTTP/1.1 ${e.status} ${e.status === 408 ? "Request Timeout" : e.status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
