import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface TlsClient {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Only for components' self-signed health endpoints on loopback. */
  insecure?: boolean;
}

/** GET with a short timeout; resolves to status and body, or status 0 when the connection failed. */
export function get(
  url: string,
  tls: TlsClient = {},
  timeoutMs = 3000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const request = u.protocol === "https:" ? httpsRequest : httpRequest;
    const req = request(
      u,
      {
        method: "GET",
        timeout: timeoutMs,
        ...(u.protocol === "https:"
          ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure }
          : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 0, body: String(e) }));
    req.end();
  });
}
