import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { z } from "zod";

/**
 * An API error: HTTP status, stable machine code, human text. The text is built from field names and limits,
 * never from submitted values (they may hold a pseudonym or worse). Codes are listed in docs/monitor.md.
 */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Zod issues as "path: message; …" — zod's messages name types and limits, not the values. */
export function describeIssues(error: z.ZodError, max = 5): string {
  return error.issues
    .slice(0, max)
    .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
}

export function parseOr400<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code = "INVALID_BODY",
): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ApiError(400, code, describeIssues(r.error));
  return r.data;
}

const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, "UNSUPPORTED_MEDIA_TYPE"],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, "BODY_TOO_LARGE"],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, "EMPTY_BODY"],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, "INVALID_JSON"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, "INVALID_CONTENT_LENGTH"],
};

export function errorHandler(log: Logger) {
  return (err: FastifyError | ApiError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ApiError) {
      return reply.code(err.status).send({ error: err.message, code: err.code });
    }
    const known = FASTIFY_CODES[err.code];
    if (known)
      return reply
        .code(known[0])
        .send({ error: known[1].toLowerCase().replaceAll("_", " "), code: known[1] });
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      // e.g. a JSON syntax error: fastify's message quotes no body content, only the position
      return reply.code(err.statusCode).send({ error: "bad request", code: "BAD_REQUEST" });
    }
    // Database errors can quote values (constraint details): log the code and route only.
    log.error(
      { route: req.routeOptions.url, errName: err.name, errCode: (err as { code?: string }).code },
      "request failed",
    );
    return reply.code(500).send({ error: "internal error", code: "INTERNAL" });
  };
}
