# syntax=docker/dockerfile:1
# The one MedMLOps image: operator, inference sidecar, de-identification and the rest of the CLI.
#   docker build -t medmlops:dev .
#   docker run --rm medmlops:dev --help
# GPU nodes: build with --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 where the CUDA provider feed is
# reachable (the default skips it and uses the CPU binaries bundled in onnxruntime-node).

ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
ARG ONNXRUNTIME_NODE_INSTALL=skip
ENV ONNXRUNTIME_NODE_INSTALL=${ONNXRUNTIME_NODE_INSTALL}
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
# The rest of the context: .dockerignore keeps out tests, test helpers, docs, charts and local state, so this
# follows the real folder layout (a new product folder needs no edit here). CI compiles this exact context
# without Docker: test/unit/image-build.test.ts.
COPY . .
# prune-image.mjs: keep only this platform's onnxruntime-node binary (the package ships all of them, ~230 MB).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && node scripts/prune-image.mjs

FROM ${NODE_IMAGE}
ARG ONNXRUNTIME_NODE_INSTALL=skip
ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=${ONNXRUNTIME_NODE_INSTALL}
WORKDIR /app
# A fixed non-root uid/gid so the Helm chart's runAsUser matches and files stay read-only to the process.
RUN groupadd --system --gid 10001 medmlops \
 && useradd --system --uid 10001 --gid medmlops --home-dir /nonexistent --shell /usr/sbin/nologin medmlops
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN ln -s /app/bin/medmlops.js /usr/local/bin/medmlops
USER 10001:10001
ENTRYPOINT ["medmlops"]
CMD ["--help"]
