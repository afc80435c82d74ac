import { z } from "zod";
import { ingestAnnotations } from "../annotate.ts";
import { ApiError, parseOr400 } from "../errors.ts";
import { MAX_ANNOTATIONS_PER_CALL } from "../wire.ts";
import type { RouteModule } from "./types.ts";

const Body = z.object({ annotations: z.array(z.unknown()) });

/** POST /v1/annotations → 202 {accepted, rejected[{index, code}]}. */
export const annotations: RouteModule = {
  name: "annotations",
  register(app, ctx) {
    app.post("/v1/annotations", async (req, reply) => {
      const body = parseOr400(Body, req.body);
      if (body.annotations.length > MAX_ANNOTATIONS_PER_CALL) {
        throw new ApiError(
          413,
          "TOO_MANY_ANNOTATIONS",
          `at most ${MAX_ANNOTATIONS_PER_CALL} annotations per call`,
        );
      }
      return reply.code(202).send(await ingestAnnotations(ctx, body.annotations));
    });
  },
};
