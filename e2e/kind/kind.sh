#!/usr/bin/env bash
# The kind cluster of E2E_PROVIDER=kind, its images and its teardown: what the
# e2e provider, the kind tests and .github/workflows/e2e-kind.yml all call.
#
#   kind.sh up          docker (docker-host.sh), kind and the node image
#                       (node-image.sh, or E2E_KIND_NODE_IMAGE), the cluster
#                       from e2e/kind/cluster.yaml when absent, and our images
#                       loaded; prints the cluster's kubeconfig path on stdout
#   kind.sh images      only (re)load our images
#   kind.sh base        docker gets the local base image the Dockerfiles start
#                       FROM (build-images.sh's, as node:24-bookworm-slim) and
#                       the cached mediasoup worker goes into the build context
#                       (skaffold's kind profile runs this before it builds)
#   kind.sh diagnose    what a failed run needs: nodes, pods, events, and the
#                       tails of `kind export logs` (kubelet, containerd)
#   kind.sh down        delete the cluster, then stop docker if we started it
#
# Environment: E2E_KIND_CLUSTER (name, default mattermost-rtcd-e2e),
# E2E_KIND_NODE_IMAGE, E2E_IMAGE_TAG (default e2e), E2E_SKIP_IMAGE_BUILD=1 (do
# not load images). kind writes the kubeconfig to its own file, never to
# ~/.kube/config.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../cluster/versions.env
. "$repo/e2e/cluster/versions.env"
cache=${MMRTCD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mattermost-rtcd}
name=${E2E_KIND_CLUSTER:-mattermost-rtcd-e2e}
tag=${E2E_IMAGE_TAG:-e2e}
kubeconfig=${TMPDIR:-/tmp}/mattermost-rtcd-e2e-$(id -u)/kind-$name.kubeconfig
log() { printf '[kind] %s\n' "$*" >&2; }
kind_bin() {
  [ -x "$cache/kind-$KIND_VERSION/kind" ] || bash "$repo/e2e/cluster/build-bins.sh" kind >&2
  echo "$cache/kind-$KIND_VERSION/kind"
}
kubectl_bin() { echo "$cache/kubernetes-$K8S_VERSION/kubectl"; }
exists() { "$(kind_bin)" get clusters 2>/dev/null | grep -qx "$name"; }

# Our images, built by buildah as the real-node path builds them, into docker
# and then into every node, under the names the suite and the chart use.
images() {
  local version tars=() t loaded
  version=$(sed -n 's/^  "version": "\(.*\)",/\1/p' "$repo/package.json" | head -n1)
  mapfile -t tars < <(bash "$repo/e2e/images/build-images.sh" rtcd operator curl)
  local names=()
  for t in "${tars[@]}"; do
    loaded=$(docker load -i "$t" | sed -n 's/^Loaded image: //p' | tail -n1)
    case $loaded in
      */mattermost-rtcd-mediasoup:*)
        # Also under the operator's default image, as a MattermostRTCD that
        # names none runs it.
        docker tag "$loaded" "mattermost-rtcd-mediasoup:$tag"
        docker tag "$loaded" "mattermost-rtcd-mediasoup:$version"
        names+=("mattermost-rtcd-mediasoup:$tag" "mattermost-rtcd-mediasoup:$version") ;;
      */mattermost-rtcd-operator:*)
        docker tag "$loaded" "mattermost-rtcd-operator:$tag"
        docker tag "$loaded" "mattermost-rtcd-operator:$version"
        names+=("mattermost-rtcd-operator:$tag" "mattermost-rtcd-operator:$version") ;;
      */mmrtcd-curl:*) docker tag "$loaded" "mmrtcd-curl:$tag" && names+=("mmrtcd-curl:$tag") ;;
    esac
  done
  log "loading ${names[*]}"
  "$(kind_bin)" load docker-image --name "$name" "${names[@]}" >&2
}

base() {
  bash "$here/docker-host.sh" up
  bash "$repo/e2e/images/build-images.sh" base
  local tar
  tar=$(ls -t "$cache"/images/base-*.tar | head -n1)
  docker load -q -i "$tar" >/dev/null
  docker tag localhost/node:24-bookworm-slim node:24-bookworm-slim
  # rtcd/Dockerfile's MEDIASOUP_WORKER_BUILD=prebuilt-context (gitignored).
  local worker
  if worker=$(bash "$repo/rtcd/worker-build/cached-worker.sh"); then
    install -D -m 0755 "$worker" "$repo/rtcd/worker-build/prebuilt/mediasoup-worker"
  fi
}

up() {
  bash "$here/docker-host.sh" up
  local image t0=$SECONDS
  image=$(bash "$here/node-image.sh")
  mkdir -p "$(dirname "$kubeconfig")"
  if exists; then
    log "cluster $name: exists"
  else
    log "creating cluster $name ($image)"
    "$(kind_bin)" create cluster --name "$name" --config "$here/cluster.yaml" --image "$image" \
      --wait 180s --kubeconfig "$kubeconfig" >&2
    log "cluster $name: created in $((SECONDS - t0))s"
  fi
  "$(kind_bin)" get kubeconfig --name "$name" >"$kubeconfig"
  chmod 600 "$kubeconfig"
  [ -n "${E2E_SKIP_IMAGE_BUILD:-}" ] || images
  # kind's --wait covers the control plane; the suite also needs the workers
  # and cluster DNS.
  KUBECONFIG=$kubeconfig "$(kubectl_bin)" wait --for=condition=Ready nodes --all --timeout=180s >&2
  KUBECONFIG=$kubeconfig "$(kubectl_bin)" -n kube-system rollout status deployment/coredns --timeout=180s >&2
  echo "$kubeconfig"
}

diagnose() {
  exists || { log "cluster $name does not exist"; return 0; }
  local k dir
  k() { KUBECONFIG=$kubeconfig "$(kubectl_bin)" "$@" 2>&1 || true; }
  echo "----- nodes"; k get nodes -o wide --show-labels
  echo "----- pods (all namespaces)"; k get pods -A -o wide
  echo "----- events (last 40)"; k get events -A --sort-by=.lastTimestamp | tail -40
  echo "----- pods not Running"
  k get pods -A --field-selector=status.phase!=Running -o name --no-headers | head -5 | while read -r p; do
    k describe -n "$(k get "$p" -A -o jsonpath='{.metadata.namespace}' 2>/dev/null)" "$p" | tail -30
  done
  dir=$(mktemp -d)
  "$(kind_bin)" export logs --name "$name" "$dir" >/dev/null 2>&1 || true
  for f in "$dir"/*/kubelet.log "$dir"/*/containerd.log; do
    [ -f "$f" ] && { echo "----- ${f#"$dir"/} (last 15)"; tail -15 "$f"; }
  done
  rm -rf "$dir"
}

down() {
  if exists; then
    "$(kind_bin)" delete cluster --name "$name" --kubeconfig "$kubeconfig" >&2
  fi
  rm -f "$kubeconfig"
  bash "$here/docker-host.sh" down
}

case ${1:-} in
  up) up ;;
  images) images ;;
  base) base ;;
  diagnose) diagnose ;;
  down) down ;;
  *) echo "usage: kind.sh up|images|base|diagnose|down" >&2; exit 2 ;;
esac
