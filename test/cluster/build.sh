#!/usr/bin/env bash
# Builds the test control plane from upstream Go modules into .medmlops/cluster/bin/:
#   k8s/  -> kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (k8s.io/kubernetes, pinned in go.mod)
#   etcd/ -> etcd (go.etcd.io/etcd/server/v3)
#   kwok/ -> kwok (sigs.k8s.io/kwok: fake kubelets)
#   helm/ -> helm (helm.sh/helm/v3)
# Each component is its own Go module so their dependency versions never fight. A component is rebuilt only when
# the hash of its go.mod + go.sum + this script changes (stamp file next to the binaries) or a binary is missing.
# Usage: test/cluster/build.sh [component...]   (default: all). Env: MEDMLOPS_CLUSTER_DIR overrides .medmlops/cluster.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${MEDMLOPS_CLUSTER_DIR:-$ROOT/.medmlops/cluster}"
BIN="$STATE/bin"
mkdir -p "$BIN"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly

# CI's environment may lack the login PATH; the machine's Go lives in /usr/local/go.
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "build.sh: Go is not installed (need Go >= 1.26)" >&2; exit 1; }

# One build at a time (cluster:up and vitest's global setup may both ask).
exec 9>"$STATE/build.lock"
flock 9

modver() { (cd "$HERE/$1" && go list -m -f '{{.Version}}' "$2"); }
modtime() { (cd "$HERE/$1" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$2"); }

# Prints "binary package" lines for a component.
targets() {
  case "$1" in
    k8s) for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do echo "$c k8s.io/kubernetes/cmd/$c"; done ;;
    etcd) echo "etcd go.etcd.io/etcd/server/v3" ;;
    kwok) echo "kwok sigs.k8s.io/kwok/cmd/kwok" ;;
    helm) echo "helm helm.sh/helm/v3/cmd/helm" ;;
    *) echo "build.sh: unknown component $1" >&2; exit 2 ;;
  esac
}

# Version stamps, so `--version` and the API server's /version tell the truth instead of v0.0.0-master.
ldflags() {
  local v t flags=()
  case "$1" in
    k8s)
      v="$(modver k8s k8s.io/kubernetes)"; t="$(modtime k8s k8s.io/kubernetes)"
      local major="${v#v}"; major="${major%%.*}"
      local minor="${v#v*.}"; minor="${minor%%.*}"
      for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
        flags+=("-X '$pkg.gitVersion=$v'" "-X '$pkg.gitMajor=$major'" "-X '$pkg.gitMinor=$minor'"
          "-X '$pkg.gitTreeState=clean'" "-X '$pkg.gitCommit='" "-X '$pkg.buildDate=${t:-1970-01-01T00:00:00Z}'")
      done ;;
    etcd) ;; # etcd's version is a constant in go.etcd.io/etcd/api/v3/version
    kwok)
      v="$(modver kwok sigs.k8s.io/kwok)"
      flags+=("-X 'sigs.k8s.io/kwok/pkg/consts.Version=${v#v}'") ;;
    helm)
      v="$(modver helm helm.sh/helm/v3)"
      flags+=("-X 'helm.sh/helm/v3/internal/version.version=$v'" "-X 'helm.sh/helm/v3/internal/version.gitTreeState=clean'")
      # As helm's Makefile does: the default Kubernetes version for `helm template`/lint comes from client-go
      # (v0.35.x -> 1.35); unset, it is 1.20 and charts with a kubeVersion constraint refuse to render.
      local cg; cg="$(modver helm k8s.io/client-go)"; cg="${cg#v0.}"
      for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
        flags+=("-X '$pkg.k8sVersionMajor=1'" "-X '$pkg.k8sVersionMinor=${cg%%.*}'")
      done ;;
  esac
  echo "-s -w ${flags[*]-}"
}

# kwok has no built-in lifecycle when run as a bare binary: it needs Stage objects in its config. Take the upstream
# "fast" stages (node initialize + lease heartbeat as kwokctl uses, pod ready/complete/delete) from the pinned kwok module itself.
post_build() {
  [ "$1" = kwok ] || return 0
  local src; src="$(cd "$HERE/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
  local f out="$BIN/kwok-stages.yaml.tmp"
  : > "$out"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    { echo "---"; cat "$src/$f"; } >> "$out"
  done
  mv -f "$out" "$BIN/kwok-stages.yaml"
}

build_component() {
  local comp="$1" dir="$HERE/$1"
  local stamp="$BIN/.stamp-$comp"
  local want; want="$(cat "$dir/go.mod" "$dir/go.sum" "$HERE/build.sh" | sha256sum | cut -d' ' -f1)"
  local missing=0 bin pkg
  while read -r bin pkg; do [ -x "$BIN/$bin" ] || missing=1; done < <(targets "$comp")
  [ "$comp" != kwok ] || [ -f "$BIN/kwok-stages.yaml" ] || missing=1
  if [ "$missing" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "build.sh: $comp is up to date"
    return
  fi
  echo "build.sh: building $comp (the compiler prints nothing; a cold build of all components takes tens of minutes on 2 cores)"
  local start=$SECONDS flags; flags="$(ldflags "$comp")"
  rm -f "$stamp"
  while read -r bin pkg; do
    (cd "$dir" && go build -trimpath -ldflags "$flags" -o "$BIN/$bin.tmp" "$pkg")
    mv -f "$BIN/$bin.tmp" "$BIN/$bin"
    echo "build.sh:   $bin ($(du -h "$BIN/$bin" | cut -f1)) after $((SECONDS - start)) s"
  done < <(targets "$comp")
  post_build "$comp"
  echo "$want" > "$stamp"
  echo "build.sh: $comp built in $((SECONDS - start)) s"
}

comps=("$@")
[ ${#comps[@]} -gt 0 ] || comps=(k8s etcd kwok helm)
for c in "${comps[@]}"; do build_component "$c"; done
