#!/usr/bin/env bash
# Pushes one image tar that build-images.sh made to a registry, and prints
# the pushed manifest's digest (nothing else on stdout):
#
#   push-image.sh <image.tar> <host:port/repo:tag>
#
# From the tar, not from the image's local name: the tar is keyed by the
# image's inputs, while the local name is shared by every checkout using this
# cache. Plain HTTP is allowed: the target is the local cluster's registry on
# its private /24 (e2e/cluster/registry.ts).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: push-image.sh <image.tar> <host:port/repo:tag>" >&2; exit 2; }
tar=$1 ref=$2
cache=${MMRTCD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mattermost-rtcd}
store=$cache/images/storage
bah() { buildah --root "$store/root" --runroot "$store/run" --storage-driver overlay "$@"; }
id=$(bah pull -q "docker-archive:$tar")
digestfile=$(mktemp)
trap 'rm -f "$digestfile"' EXIT
bah push -q --tls-verify=false --digestfile "$digestfile" "$id" "docker://$ref" >&2
cat "$digestfile"
echo
