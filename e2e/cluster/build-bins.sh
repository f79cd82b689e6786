#!/usr/bin/env bash
# Builds the real Kubernetes binaries the local cluster runs, from the Go module
# proxy only (no release downloads are reachable here), and caches them outside
# the repository keyed by version, so a second run is a no-op.
#
#   build-bins.sh [control-plane|kubelet|node|actionlint|prometheus|registry|kind|skaffold|all]
#
# `kubelet` (alias `node`) builds what a real node runs: kubelet, kube-proxy, CoreDNS.
# `all` (what CI runs) builds both sets with one `go build` for the six
# Kubernetes binaries, so the packages they share compile once and the real
# nodes' binaries are not a separate, later build; `all` also builds
# actionlint, which `npm test` runs over .github/workflows. `prometheus` builds
# prometheus and promtool (the alert rules' tests and the dashboard's proof on
# a real Prometheus); `all` includes it. `registry` builds the CNCF distribution
# registry the real nodes pull images and the chart from (`all` and `node`
# include it, as every real-node cluster starts one). MMRTCD_BUILD_PARALLEL=1
# builds the other modules (etcd, kwok, helm, CoreDNS) alongside the
# Kubernetes one; not the default, as it has not yet been measured to help on
# 2 cores (go build already keeps both busy while it compiles).
#
# `kind` builds what the kind provider needs: kind, kubeadm (with kubelet and
# kubectl, for its node image) and the etcd that kubeadm accepts; `skaffold`
# builds skaffold (the inner loop, and its test). Neither is part of `all`.
#
# Versions come from e2e/cluster/versions.env and can be overridden by the
# environment (K8S_VERSION, ETCD_VERSION, KWOK_VERSION, HELM_VERSION,
# COREDNS_VERSION, ACTIONLINT_VERSION, PROMETHEUS_VERSION, REGISTRY_VERSION).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
what=${1:-control-plane}
cache=${MMRTCD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mattermost-rtcd}
export GOFLAGS=${GOFLAGS:--buildvcs=false}
export CGO_ENABLED=0
# The Go compiler spends a sixth of its CPU in its own garbage collector; a
# higher GOGC trades memory (at most ~1 GiB per compile here) for that: helm
# from an empty build cache took 175 s of CPU with GOGC=100 and 144 s with
# 400. A cold CI is CPU-bound from start to end, so that is wall time. Only
# the go command and the compilers it runs see it, not the binaries built.
# rtcd/test/support/go-build.ts sets the same for the Go builds of the tests.
export GOGC=${MMRTCD_GO_BUILD_GOGC:-400}

log() { printf '[build-bins] %s\n' "$*" >&2; }
# What a cold build spends resolving modules (mostly waiting on the proxy)
# and compiling, so the CI's stage timings can be read: `tidy` before a
# build's go build, `built` after it.
t_mark=0
tidied() { t_mark=$SECONDS; log "$1: modules resolved in $((SECONDS - $2)) s"; }
built() { log "$1: compiled in $((SECONDS - t_mark)) s"; }

# Two invocations may want the same build at once (`npm test` builds kind and
# skaffold in the background while the kind test may ask for them): a build
# takes its target's lock, then looks again, so the second caller waits and
# finds it cached. Held until this script exits; taken once per name.
declare -A held=()
lock() {
  [ -n "${held[$1]:-}" ] && return
  local fd
  mkdir -p "$cache/locks"
  exec {fd}>"$cache/locks/$1.lock"
  flock "$fd"
  held[$1]=1
}

# A wrapper module is the only way to build k8s.io/kubernetes from the proxy:
# its own go.mod points every staging module at a local path, so we repeat those
# replaces with the published staging versions (v0.X.Y for v1.X.Y).
build_kubernetes() {
  local bins=("$@") out="$cache/kubernetes-$K8S_VERSION" missing=()
  for b in "${bins[@]}"; do [ -x "$out/$b" ] || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && { log "kubernetes $K8S_VERSION: cached (${bins[*]})"; return; }
  lock "kubernetes-$K8S_VERSION"
  missing=()
  for b in "${bins[@]}"; do [ -x "$out/$b" ] || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && { log "kubernetes $K8S_VERSION: built meanwhile (${bins[*]})"; return; }
  log "kubernetes $K8S_VERSION: building ${missing[*]} (first time takes a while)"
  local mod="$cache/src/kubernetes-$K8S_VERSION" staging="v0.${K8S_VERSION#v1.}" t0=$SECONDS
  mkdir -p "$mod" "$out"
  local gomod
  gomod=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  {
    echo "module mmrtcd.local/kubebins"
    echo "go 1.25"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } > "$mod/go.mod"
  local pkgs=() p
  for b in "${missing[@]}"; do
    case $b in
      kubectl) p=k8s.io/kubernetes/cmd/kubectl ;;
      *) p=k8s.io/kubernetes/cmd/$b ;;
    esac
    pkgs+=("$p")
  done
  # tools.go keeps `go mod tidy` from dropping the requirement.
  printf 'package tools\n\nimport (\n' > "$mod/tools.go"
  for p in "${pkgs[@]}"; do printf '\t_ "%s"\n' "$p" >> "$mod/tools.go"; done
  printf ')\n' >> "$mod/tools.go"
  (cd "$mod" && go mod tidy >/dev/null 2>&1 || go mod tidy)
  tidied "kubernetes $K8S_VERSION" "$t0"
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  # One go build for every binary so they share the compile work.
  (cd "$mod" && go build -trimpath -tags remove_all_sd,enable_kubernetes_sd -ldflags "$ld" -o "$out/" "${pkgs[@]}")
  built "kubernetes $K8S_VERSION"
}

build_simple() { # name version module-path pkg [replace...]
  local name=$1 version=$2 modpath=$3 pkg=$4 out="$cache/$1-$2"
  [ -x "$out/$name" ] && { log "$name $version: cached"; return; }
  lock "$name-$version"
  [ -x "$out/$name" ] && { log "$name $version: built meanwhile"; return; }
  log "$name $version: building"
  local mod="$cache/src/$name-$version" t0=$SECONDS
  mkdir -p "$mod" "$out"
  printf 'module mmrtcd.local/%sbin\n\ngo 1.25\n\nrequire %s %s\n' "$name" "$modpath" "$version" > "$mod/go.mod"
  printf 'package tools\n\nimport _ "%s"\n' "$pkg" > "$mod/tools.go"
  (cd "$mod" && go mod tidy >/dev/null 2>&1 || go mod tidy)
  tidied "$name $version" "$t0"
  (cd "$mod" && go build -trimpath -tags remove_all_sd,enable_kubernetes_sd -ldflags "-s -w" -o "$out/$name" "$pkg")
  built "$name $version"
}

# The kwok binary has no built-in stages (kwokctl injects them); keep the
# published "fast" node/pod stages of the same version next to the binary.
kwok_stages() {
  local out="$cache/kwok-$KWOK_VERSION/stages.yaml"
  [ -s "$out" ] && return
  local dir
  dir=$(cd "$cache/src/kwok-$KWOK_VERSION" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  local f first=1
  : > "$out.tmp"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [ $first -eq 1 ] || echo '---' >> "$out.tmp"
    first=0
    cat "$dir/kustomize/stage/$f" >> "$out.tmp"
  done
  mv "$out.tmp" "$out"
}

build_helm() {
  local out="$cache/helm-$HELM_VERSION"
  [ -x "$out/helm" ] && { log "helm $HELM_VERSION: cached"; return; }
  log "helm $HELM_VERSION: building"
  local mod="$cache/src/helm-$HELM_VERSION" t0=$SECONDS
  mkdir -p "$mod" "$out"
  printf 'module mmrtcd.local/helmbin\n\ngo 1.25\n\nrequire helm.sh/helm/v3 %s\n' "$HELM_VERSION" > "$mod/go.mod"
  printf 'package tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' > "$mod/tools.go"
  (cd "$mod" && go mod tidy >/dev/null 2>&1 || go mod tidy)
  tidied "helm $HELM_VERSION" "$t0"
  (cd "$mod" && go build -trimpath -tags remove_all_sd,enable_kubernetes_sd -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" -o "$out/helm" helm.sh/helm/v3/cmd/helm)
  built "helm $HELM_VERSION"
}

# prometheus and promtool from one module, one go build so they share the
# compile work. The Go module's v0.X.Y is Prometheus release 3.X.Y. Built
# without the `builtinassets` tag: no web UI (its assets are not in the
# module), the HTTP API the tests use is all there. Service discovery is
# Kubernetes and static only (`remove_all_sd`): the cloud SDKs of the other
# mechanisms were most of a cold build that had not finished after 40 minutes
# on a loaded 2-core machine, and nothing here uses them.
build_prometheus() {
  local out="$cache/prometheus-$PROMETHEUS_VERSION"
  [ -x "$out/prometheus" ] && [ -x "$out/promtool" ] && { log "prometheus $PROMETHEUS_VERSION: cached"; return; }
  log "prometheus $PROMETHEUS_VERSION: building prometheus and promtool"
  local mod="$cache/src/prometheus-$PROMETHEUS_VERSION" minor patch release t0=$SECONDS
  # v0.316.0 -> 3.16.0 (the release number `prometheus --version` reports).
  minor=$(echo "$PROMETHEUS_VERSION" | cut -d. -f2)
  patch=$(echo "$PROMETHEUS_VERSION" | cut -d. -f3)
  release="${minor:0:1}.$((10#${minor:1})).$patch"
  mkdir -p "$mod" "$out"
  printf 'module mmrtcd.local/prometheusbin\n\ngo 1.25\n\nrequire github.com/prometheus/prometheus %s\n' "$PROMETHEUS_VERSION" > "$mod/go.mod"
  printf 'package tools\n\nimport (\n\t_ "github.com/prometheus/prometheus/cmd/prometheus"\n\t_ "github.com/prometheus/prometheus/cmd/promtool"\n)\n' > "$mod/tools.go"
  (cd "$mod" && go mod tidy >/dev/null 2>&1 || go mod tidy)
  tidied "prometheus $PROMETHEUS_VERSION" "$t0"
  (cd "$mod" && go build -trimpath -tags remove_all_sd,enable_kubernetes_sd -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" -o "$out/" \
    github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool)
  built "prometheus $PROMETHEUS_VERSION"
}

# The modules other than k8s.io/kubernetes, in build order.
build_others() { # control-plane|node|all
  if [ "$1" != node ]; then
    build_simple etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3
    build_simple kwok "$KWOK_VERSION" sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwok
    kwok_stages
    build_helm
  fi
  if [ "$1" = all ]; then
    build_prometheus
  fi
  if [ "$1" != control-plane ]; then
    build_simple coredns "$COREDNS_VERSION" github.com/coredns/coredns github.com/coredns/coredns
    build_registry
  fi
  if [ "$1" = all ]; then build_actionlint; fi
}

# The registry binary's module is distribution/v3 itself; cmd/registry
# registers the filesystem storage driver it is configured with.
build_registry() {
  build_simple registry "$REGISTRY_VERSION" github.com/distribution/distribution/v3 github.com/distribution/distribution/v3/cmd/registry
}

# skaffold's own go.mod carries replace directives (mergo and others) that a
# wrapper module would not inherit, so it is built inside a copy of its module.
build_skaffold() {
  local out="$cache/skaffold-$SKAFFOLD_VERSION" mod="$cache/src/skaffold-$SKAFFOLD_VERSION" dir t0=$SECONDS
  [ -x "$out/skaffold" ] && { log "skaffold $SKAFFOLD_VERSION: cached"; return; }
  lock "skaffold-$SKAFFOLD_VERSION"
  [ -x "$out/skaffold" ] && { log "skaffold $SKAFFOLD_VERSION: built meanwhile"; return; }
  log "skaffold $SKAFFOLD_VERSION: building"
  mkdir -p "$mod" "$out"
  dir=$(cd "$mod" && go mod download -json "github.com/GoogleContainerTools/skaffold/v2@$SKAFFOLD_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  rm -rf "$mod/src" && cp -r "$dir" "$mod/src" && chmod -R u+w "$mod/src"
  tidied "skaffold $SKAFFOLD_VERSION" "$t0"
  (cd "$mod/src" && go build -trimpath -ldflags "-s -w -X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$SKAFFOLD_VERSION" \
    -o "$out/skaffold" ./cmd/skaffold)
  built "skaffold $SKAFFOLD_VERSION"
}

build_actionlint() {
  build_simple actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint github.com/rhysd/actionlint/cmd/actionlint
}

# With MMRTCD_BUILD_PARALLEL, the Kubernetes build alongside the other
# modules': go build keeps both cores busy while it compiles, but less so
# while it resolves modules or links; a second build could fill those gaps.
build_set() { # control-plane|node|all, kubernetes binaries...
  local set=$1 rc=0 k8s others
  shift
  if [ -z "${MMRTCD_BUILD_PARALLEL:-}" ]; then
    build_kubernetes "$@"
    build_others "$set"
    return
  fi
  # Both in background subshells: `set -e` still stops each at its first
  # failure there (it would not in a function called as `f || rc=$?`).
  build_kubernetes "$@" &
  k8s=$!
  build_others "$set" &
  others=$!
  wait "$k8s" || rc=$?
  wait "$others" || rc=$?
  return $rc
}

control_plane_bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
node_bins=(kubelet kube-proxy)
case $what in
  control-plane) build_set control-plane "${control_plane_bins[@]}" ;;
  # Everything a real node runs: kubelet, kube-proxy and the cluster DNS.
  kubelet | node) build_set node "${node_bins[@]}" ;;
  prometheus) build_prometheus ;;
  all) build_set all "${control_plane_bins[@]}" "${node_bins[@]}" ;;
  actionlint) build_actionlint ;;
  registry) build_registry ;;
  kind)
    build_simple kind "$KIND_VERSION" sigs.k8s.io/kind sigs.k8s.io/kind
    build_kubernetes kubeadm kubelet kubectl
    build_simple etcd "$KIND_ETCD_VERSION" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3
    ;;
  skaffold) build_skaffold ;;
  *) echo "usage: build-bins.sh [control-plane|kubelet|node|actionlint|prometheus|registry|kind|skaffold|all]" >&2; exit 2 ;;
esac
