#!/usr/bin/env bash
# Builds the real node's programs into $MEDMLOPS_CLUSTER_DIR/bin (default .medmlops/cluster/bin), beside the control
# plane that ../build.sh builds:
#   kubelet, kube-proxy  from k8s.io/kubernetes (this module: the same release, requires and replaces as ../k8s)
#   pause                ./pause, a static Go program, wrapped into the OCI archive bin/pause.oci.tar (tag 3.10)
# Kept apart from ../build.sh so the shared control-plane build (and its stamps) never changes for engineers who do
# not use the real node. Rebuilt only when go.mod, go.sum, pause/main.go or this script change (bin/.stamp-node).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
STATE="${MEDMLOPS_CLUSTER_DIR:-$ROOT/.medmlops/cluster}"
BIN="$STATE/bin"
mkdir -p "$BIN"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "node/build.sh: Go is not installed (need Go >= 1.26)" >&2; exit 1; }
exec 9>"$STATE/build-node.lock"
flock 9

stamp="$BIN/.stamp-node"
want="$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/pause/main.go" "$HERE/build.sh" | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN/kubelet" ] && [ -x "$BIN/kube-proxy" ] && [ -s "$BIN/pause.oci.tar" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "node/build.sh: kubelet, kube-proxy, pause are up to date"
  exit 0
fi
rm -f "$stamp"
start=$SECONDS
v="$(cd "$HERE" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
t="$(cd "$HERE" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
major="${v#v}"; major="${major%%.*}"; minor="${v#v*.}"; minor="${minor%%.*}"
flags=()
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  flags+=("-X '$pkg.gitVersion=$v'" "-X '$pkg.gitMajor=$major'" "-X '$pkg.gitMinor=$minor'"
    "-X '$pkg.gitTreeState=clean'" "-X '$pkg.gitCommit='" "-X '$pkg.buildDate=${t:-1970-01-01T00:00:00Z}'")
done
echo "node/build.sh: building kubelet and kube-proxy $v (the compiler prints nothing; cold: many minutes on 2 cores)"
for c in kubelet kube-proxy; do
  (cd "$HERE" && go build -trimpath -ldflags "-s -w ${flags[*]}" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c")
  mv -f "$BIN/$c.tmp" "$BIN/$c"
  echo "node/build.sh:   $c ($(du -h "$BIN/$c" | cut -f1)) after $((SECONDS - start)) s"
done

# The pause image: one static binary in an otherwise empty image, assembled with umoci like the project's image.
command -v umoci >/dev/null || { echo "node/build.sh: umoci is missing — run: bash .ci/setup.d/60-containers.sh" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs"
(cd "$HERE" && go build -trimpath -ldflags "-s -w" -o "$work/rootfs/pause" ./pause)
tar --create --file="$work/layer.tar" --directory="$work/rootfs" --sort=name --format=posix \
  --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' --mtime=@0 --owner=0 --group=0 --numeric-owner pause
umoci init --layout "$work/oci"
umoci new --image "$work/oci:3.10"
umoci raw add-layer --no-history --image "$work/oci:3.10" "$work/layer.tar"
umoci config --no-history --image "$work/oci:3.10" --created=1970-01-01T00:00:00Z --architecture=amd64 --os=linux \
  --config.entrypoint=/pause --config.user=65535:65535
umoci gc --layout "$work/oci"
tar --create --file="$BIN/pause.oci.tar.tmp" --directory="$work/oci" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner .
mv -f "$BIN/pause.oci.tar.tmp" "$BIN/pause.oci.tar"
echo "$want" > "$stamp"
echo "node/build.sh: done in $((SECONDS - start)) s"
