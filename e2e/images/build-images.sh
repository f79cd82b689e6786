#!/usr/bin/env bash
# Builds the container images the real node runs, without any registry:
#   base      node:24-bookworm-slim, made locally (debootstrap minbase bookworm
#             + this repository's Node 24 binary, stripped, + npm), so the
#             Dockerfiles' FROM line resolves to a local image (their build
#             stages; the rtcd and operator images end FROM scratch)
#   pause     the sandbox image: a tiny static C program
#   rtcd      rtcd/Dockerfile, built by buildah (every RUN/COPY step runs)
#   operator  operator/Dockerfile, the same way
#   curl      the chart's `helm test` image (sh + curl on the same base)
#
#   build-images.sh <base|pause|rtcd|operator|curl|all>...
#
# Each image is saved as a docker-archive tar in the cache, keyed by a hash of
# its inputs (the Dockerfile, the files it copies, the base image's id), so a
# second run is a few seconds. Prints nothing on stdout but the tar paths.
# buildah's storage lives in the cache too, never in the system's paths, and
# RUN steps use the host's network (no bridge, no iptables changes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${MMRTCD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mattermost-rtcd}
out=$cache/images
store=$out/storage
mkdir -p "$out"
# One build at a time per cache: `npm test` runs two test lanes at once, and
# both may ask for the same image on a machine that has not built it yet;
# the second waits, then finds it cached.
exec 9>"$out/.lock"
flock 9
log() { printf '[build-images] %s\n' "$*" >&2; }
# Older tars of the same image are of no further use.
prune() { find "$out" -maxdepth 1 -name "$1-*.tar" ! -name "$(basename "$2")" -delete; }
bah() { buildah --root "$store/root" --runroot "$store/run" --storage-driver overlay "$@"; }

# Under localhost/: buildah resolves the Dockerfiles' short FROM name to a
# local image of that name (with --pull-never), so nothing names a registry.
BASE_NAME=localhost/node:24-bookworm-slim
# Bump when build_base changes what goes into the base image (or its name).
BASE_RECIPE=4
node_bin=$repo/node_modules/node/bin/node
npm_dir=${MMRTCD_NPM_DIR:-$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")}

# shellcheck source=debian-mirror.sh
. "$here/debian-mirror.sh"

image_exists() { bah images --noheading --format '{{.Name}}:{{.Tag}}' 2>/dev/null | grep -qx "$1"; }

build_base() {
  local node_v npm_v key tar
  node_v=$("$node_bin" --version)
  npm_v=$(sed -n 's/^  "version": "\(.*\)",/\1/p' "$npm_dir/package.json" | head -n1)
  # Where this machine reaches the npm registry through a TLS-inspecting proxy,
  # its extra CAs go into the (local, test-only) base, as a build on this
  # machine would need them anyway.
  local extra_ca=${NODE_EXTRA_CA_CERTS:-}
  [ -n "$extra_ca" ] && [ ! -s "$extra_ca" ] && extra_ca=""
  key=$(printf '%s\n' "$node_v" "$npm_v" "$BASE_RECIPE" "$( [ -n "$extra_ca" ] && sha256sum <"$extra_ca")" | sha256sum | cut -c1-16)
  tar=$out/base-$key.tar
  prune base "$tar"
  if [ -s "$tar" ]; then
    image_exists "$BASE_NAME" || bah pull -q "docker-archive:$tar" >/dev/null
    log "base $BASE_NAME: cached ($key)"
    return
  fi
  local root=$out/rootfs-bookworm
  if [ ! -x "$root/bin/bash" ]; then
    local mirror
    mirror=$(debian_mirror)
    log "debootstrap --variant=minbase bookworm (from the machine's own mirror)"
    rm -rf "$root.tmp"
    debootstrap --variant=minbase bookworm "$root.tmp" "$mirror" >"$out/debootstrap.log" 2>&1 ||
      { tail -20 "$out/debootstrap.log" >&2; exit 1; }
    rm -rf "$root.tmp"/var/cache/apt/archives/*.deb "$root.tmp"/var/lib/apt/lists/*
    mv "$root.tmp" "$root"
  fi
  log "base: Node $node_v + npm $npm_v on bookworm minbase -> $BASE_NAME"
  local ctr mnt
  ctr=$(bah from scratch)
  mnt=$(bah mount "$ctr")
  cp -a "$root/." "$mnt/"
  # Stripped: the official binary carries 18 MB of symbols and DWARF that
  # nothing in an image reads (V8 and Node's own stack traces do not use them),
  # and the rtcd and operator images copy this very binary.
  install -m 0755 "$node_bin" "$mnt/usr/local/bin/node"
  strip "$mnt/usr/local/bin/node"
  mkdir -p "$mnt/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$mnt/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  local ca_env=()
  if [ -n "$extra_ca" ]; then
    install -D -m 0644 "$extra_ca" "$mnt/etc/ssl/certs/mmrtcd-build-host-ca.crt"
    ca_env=(--env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/mmrtcd-build-host-ca.crt)
  fi
  bah umount "$ctr" >/dev/null
  bah config "${ca_env[@]}" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="${node_v#v}" --cmd node "$ctr"
  bah commit -q --rm "$ctr" "$BASE_NAME" >/dev/null
  bah push -q "$BASE_NAME" "docker-archive:$tar.tmp:$BASE_NAME" && mv "$tar.tmp" "$tar"
}

# A sandbox ("pause") image: a static program that sleeps until signalled.
build_pause() {
  local src=$here/pause/pause.c key tar
  key=$(sha256sum "$src" | cut -c1-16)
  tar=$out/pause-$key.tar
  echo "$tar"
  prune pause "$tar"
  [ -s "$tar" ] && { log "pause: cached ($key)"; return; }
  local tmp
  tmp=$(mktemp -d)
  gcc -static -Os -o "$tmp/pause" "$src"
  strip "$tmp/pause"
  local ctr mnt
  ctr=$(bah from scratch)
  mnt=$(bah mount "$ctr")
  install -m 0755 "$tmp/pause" "$mnt/pause"
  bah umount "$ctr" >/dev/null
  bah config --entrypoint '["/pause"]' --user 65535:65535 "$ctr"
  bah commit -q --rm "$ctr" localhost/mmrtcd-pause:local >/dev/null
  bah push -q localhost/mmrtcd-pause:local "docker-archive:$tar.tmp:localhost/mmrtcd-pause:local" && mv "$tar.tmp" "$tar"
  rm -rf "$tmp"
}

# The build context: only the files the Dockerfile copies (tracked or new, not
# ignored), so node_modules and other engineers' scratch files stay out and the
# hash changes only when an input does.
context_files() { # dockerfile-dir
  if [ "$1" = e2e/images/curl ]; then echo "$1/Dockerfile"; return; fi
  (cd "$repo" && git ls-files -co --exclude-standard -- package.json package-lock.json tsconfig.base.json \
    operator/package.json operator/tsconfig.build.json operator/src e2e/package.json \
    rtcd/package.json rtcd/src rtcd/worker-build scripts/image "$1/Dockerfile" | LC_ALL=C sort)
}

# How the rtcd image gets its mediasoup worker (see rtcd/Dockerfile):
# MMRTCD_WORKER_BUILD when set, else the worker build-worker.sh already cached
# ("prebuilt-context": the worker compiles once, not again inside the image),
# else "offline". Only from a bookworm host: that is the base image's Debian,
# so the cached binary links exactly the libraries the image installs.
worker_build() {
  if [ -n "${MMRTCD_WORKER_BUILD:-}" ]; then echo "$MMRTCD_WORKER_BUILD"; return; fi
  if [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ] &&
    bash "$repo/rtcd/worker-build/cached-worker.sh" >/dev/null; then
    echo prebuilt-context
  else
    echo offline
  fi
}

# The OCI labels (see the Dockerfiles): version and licenses from the root
# package.json, the one version source; revision and source from
# MMRTCD_IMAGE_REVISION and MMRTCD_IMAGE_SOURCE, which the release sets (left
# empty otherwise, so a new commit does not rebuild the images e2e uses).
label_args() {
  local version licenses
  version=$("$node_bin" -p 'require(process.argv[1]).version' "$repo/package.json")
  licenses=$("$node_bin" -p 'require(process.argv[1]).license' "$repo/package.json")
  printf '%s\n' --build-arg "VERSION=$version" --build-arg "LICENSES=$licenses" \
    --build-arg "REVISION=${MMRTCD_IMAGE_REVISION:-}" --build-arg "SOURCE=${MMRTCD_IMAGE_SOURCE:-}"
}

build_app() { # name dockerfile-dir image-repo
  local name=$1 dir=$2 repo_name=$3 base_id key tar ctxdir worker_mode=${MMRTCD_WORKER_BUILD:-offline} worker_bin=""
  base_id=$(bah images --noheading --format '{{.ID}}' "$BASE_NAME" | head -n1)
  [ -n "$base_id" ] || { log "base image missing (run: build-images.sh base)"; exit 1; }
  if [ "$name" = rtcd ]; then
    worker_mode=$(worker_build)
    if [ "$worker_mode" = prebuilt-context ]; then
      worker_bin=$(bash "$repo/rtcd/worker-build/cached-worker.sh") ||
        { log "MMRTCD_WORKER_BUILD=prebuilt-context but no cached worker (run: bash rtcd/worker-build/build-worker.sh)"; exit 1; }
    fi
  fi
  local labels=()
  mapfile -t labels < <(label_args)
  # The worker binary's own hash is an input when it comes prebuilt.
  key=$( (echo "$base_id" "$worker_mode" "${labels[*]}"; [ -z "$worker_bin" ] || sha256sum <"$worker_bin"
    cd "$repo" && context_files "$dir" | xargs sha256sum) | sha256sum | cut -c1-16)
  tar=$out/$name-$key.tar
  echo "$tar"
  prune "$name" "$tar"
  [ -s "$tar" ] && { log "$name: cached ($key)"; return; }
  ctxdir=$(mktemp -d)
  (cd "$repo" && context_files "$dir" | tar -cf - -T - | tar -xf - -C "$ctxdir")
  if [ -n "$worker_bin" ]; then
    install -D -m 0755 "$worker_bin" "$ctxdir/rtcd/worker-build/prebuilt/mediasoup-worker"
    log "$name: mediasoup worker from the cache ($worker_bin)"
  fi
  log "$name: buildah bud $dir/Dockerfile (worker: $worker_mode; inputs $key; log $out/$name-build.log)"
  local t0=$SECONDS nproc
  # buildah raises limits it is not told about, and root here cannot (no
  # CAP_SYS_RESOURCE); its build process runs with at most 32768 processes
  # on these machines, so ask for no more than that.
  nproc=$(awk '/^Max processes/ {print $4}' /proc/self/limits)
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  # A persistent /cache for RUN steps (like a BuildKit cache mount): the
  # offline worker recipe caches its build there by recipe hash, so changing
  # rtcd's sources does not recompile the worker. Not part of any layer.
  mkdir -p "$out/build-cache"
  if ! bah bud --isolation chroot -v "$out/build-cache:/cache" --network host --pull-never --layers=false \
    --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc" --build-arg "MEDIASOUP_WORKER_BUILD=$worker_mode" "${labels[@]}" \
    -f "$ctxdir/$dir/Dockerfile" -t "localhost/$repo_name:local" "$ctxdir" >"$out/$name-build.log" 2>&1; then
    tail -40 "$out/$name-build.log" >&2
    rm -rf "$ctxdir"
    exit 1
  fi
  rm -rf "$ctxdir"
  bah push -q "localhost/$repo_name:local" "docker-archive:$tar.tmp:localhost/$repo_name:local" && mv "$tar.tmp" "$tar"
  # The image this one replaced is now untagged: drop it, or every source
  # change would leave another few hundred MB in the build storage.
  bah rmi --prune >/dev/null 2>&1 || true
  log "$name: built in $((SECONDS - t0))s"
}

for what in "${@:-all}"; do
case $what in
  base) build_base ;;
  pause) build_pause ;;
  curl) build_base && build_app curl e2e/images/curl mmrtcd-curl ;;
  rtcd) build_base && build_app rtcd rtcd mattermost-rtcd-mediasoup ;;
  operator) build_base && build_app operator operator mattermost-rtcd-operator ;;
  all)
    build_base
    build_pause
    build_app rtcd rtcd mattermost-rtcd-mediasoup
    build_app operator operator mattermost-rtcd-operator
    build_app curl e2e/images/curl mmrtcd-curl
    ;;
  *) echo "usage: build-images.sh <base|pause|rtcd|operator|curl|all>..." >&2; exit 2 ;;
esac
done
