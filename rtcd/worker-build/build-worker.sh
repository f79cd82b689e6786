#!/usr/bin/env bash
# Builds the mediasoup worker for the mediasoup version rtcd pins, from the
# worker sources in the installed npm package, with Debian packages only (no
# download from anywhere else), and caches it. Prints the binary's path.
#
#   bash rtcd/worker-build/build-worker.sh          # build once, then print the cached path
#   MMRTCD_WORKER_REBUILD=1 bash rtcd/worker-build/build-worker.sh   # force a rebuild
#
# Cache: ${MMRTCD_CACHE_DIR:-$HOME/.cache/mattermost-rtcd}/mediasoup-worker-<version>/mediasoup-worker
# rtcd finds the worker there, or wherever MEDIASOUP_WORKER_BIN points.
#
# The worker's meson subprojects (libuv, openssl, libsrtp3, flatbuffers,
# abseil-cpp, unordered_dense) normally download their sources; here each is
# replaced by a stand-in project from ./standins that wraps the Debian
# library (see the comments in those files, notably the libsrtp3 -> libsrtp2
# header). libsrtp is the exception: it is built here, statically, from
# Debian's own source package, against OpenSSL (see fetch_libsrtp below).
# Progress goes to stderr; stdout is only the path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rtcd_dir="$(dirname "$here")"

log() { printf 'build-worker: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# The installed mediasoup package (workspace-local or hoisted to the root).
pkg=""
for candidate in "$rtcd_dir/node_modules/mediasoup" "$rtcd_dir/../node_modules/mediasoup"; do
  if [[ -f "$candidate/package.json" && -d "$candidate/worker" ]]; then
    pkg="$(cd "$candidate" && pwd)"
    break
  fi
done
[[ -n "$pkg" ]] || die "mediasoup is not installed (run npm ci first)"

version="$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n1)"
pinned="$(sed -n 's/^[[:space:]]*"mediasoup":[[:space:]]*"\([^"]*\)".*/\1/p' "$rtcd_dir/package.json" | head -n1)"
[[ -n "$version" ]] || die "cannot read the version of $pkg"
if [[ -n "$pinned" && "$pinned" != "$version" ]]; then
  die "rtcd pins mediasoup $pinned but $version is installed (run npm ci)"
fi

cache_root="${MMRTCD_CACHE_DIR:-$HOME/.cache/mattermost-rtcd}"
out_dir="$cache_root/mediasoup-worker-$version"
out_bin="$out_dir/mediasoup-worker"

# The recipe's fingerprint: a change to the stand-ins, the patches or this
# script rebuilds.
recipe="$(cat "$here/build-worker.sh" $(find "$here/standins" "$here/patches" -type f | LC_ALL=C sort) | sha256sum | cut -c1-16)"

if [[ -z "${MMRTCD_WORKER_REBUILD:-}" && -x "$out_bin" && -f "$out_dir/recipe" && "$(cat "$out_dir/recipe")" == "$recipe" ]]; then
  log "cached: mediasoup $version worker (recipe $recipe)"
  printf '%s\n' "$out_bin"
  exit 0
fi

# Debian packages the build needs.
packages=(meson ninja-build pkg-config g++ python3 libuv1-dev libssl-dev
  flatbuffers-compiler libflatbuffers-dev libabsl-dev patch)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ "$(id -u)" != 0 ]]; then
    die "missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]}, as root)"
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
fi

# libsrtp, from Debian's source package for bookworm's libsrtp2, built with
# OpenSSL's ciphers. Debian's binary package is built with NSS, whose
# PKCS#11 layer took about a quarter of the worker's CPU forwarding media
# (perf, 50 calls x 8 x 2: libsoftokn3 23 %, freebl 2 %, with NSS's own
# locks); with OpenSSL the worker spent 9.6 instead of 12.8-14.8 ms of CPU
# per 1,000 delivered packets (docs/benchmarks.md). mediasoup's own build
# does the same (its libsrtp3 subproject uses OpenSSL).
srtp_deb_version=2.5.0-3
srtp_upstream=2.5.0
srtp_sha256=8a43ef8e9ae2b665292591af62aa1a4ae41e468b6d98d8258f91478735da4e09
srtp_tarball="$cache_root/src/libsrtp2-$srtp_deb_version/libsrtp2_$srtp_upstream.orig.tar.gz"

# Downloads the source through apt, from the very archives this machine
# installs its packages from (their deb lines, read as deb-src, in a private
# apt state: the system's own lists and sources are not touched). apt checks
# the files against the archive's signed index; the pinned hash then keeps
# the recipe what it was when measured.
fetch_libsrtp() {
  local apt_dir f
  apt_dir="$(mktemp -d)"
  trap 'rm -rf "$apt_dir"' EXIT
  mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/get"
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] && sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt_dir/parts/$(basename "$f")"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] && sed -n 's/^deb[[:space:]]/deb-src /p' "$f" >>"$apt_dir/parts/system.list"
  done
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/parts"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User="$(id -un)")
  log "downloading Debian's libsrtp2 $srtp_deb_version source"
  apt-get "${opts[@]}" update >&2 || die "apt-get update (deb-src) failed"
  (cd "$apt_dir/get" && apt-get "${opts[@]}" source --download-only "libsrtp2=$srtp_deb_version" >&2) ||
    die "cannot download the source of libsrtp2 $srtp_deb_version (is it still in the archive?)"
  local got="$apt_dir/get/libsrtp2_$srtp_upstream.orig.tar.gz"
  [[ "$(sha256sum "$got" | cut -d' ' -f1)" == "$srtp_sha256" ]] || die "libsrtp2_$srtp_upstream.orig.tar.gz: unexpected sha256"
  mkdir -p "$(dirname "$srtp_tarball")"
  mv -f "$got" "$srtp_tarball"
  rm -rf "$apt_dir"
  trap - EXIT
}
if [[ ! -f "$srtp_tarball" || "$(sha256sum "$srtp_tarball" | cut -d' ' -f1)" != "$srtp_sha256" ]]; then
  fetch_libsrtp
fi

mkdir -p "$out_dir"
work="$(mktemp -d "$out_dir/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "building libsrtp $srtp_upstream (OpenSSL) in $work"
tar -xzf "$srtp_tarball" -C "$work"
(
  cd "$work/libsrtp-$srtp_upstream"
  meson setup build --buildtype=release -Db_ndebug=true --default-library=static \
    --prefix "$work/srtp" --libdir lib -Dcrypto-library=openssl \
    -Dtests=disabled -Dpcap-tests=disabled -Ddoc=disabled >&2
  ninja -C build -j "$(nproc 2>/dev/null || echo 2)" install >&2
)
# The worker's stand-in finds this build, not a system libsrtp2, by pkg-config.
export PKG_CONFIG_PATH="$work/srtp/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

log "building mediasoup $version worker in $work"
cp -a "$pkg/worker" "$work/worker"
src="$work/worker"

# Debian bookworm ships meson 1.0.1; the worker asks for >= 1.1.0 but uses
# nothing from 1.1.
sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" "$src/meson.build"

# Debian's OpenSSL is built with kernel TLS support, mediasoup's bundled one
# is not. The worker's BIO callback answers every BIO_CB_RETURN|<op> call
# with 1 instead of passing the result through, so BIO_get_ktls_send() on its
# memory BIO returns 1, OpenSSL then leaves the DTLS write buffer unallocated
# and the worker segfaults on the first DTLS record. Pass results through.
dtls="$src/src/RTC/DtlsTransport.cpp"
grep -q '(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1' "$dtls" ||
  die "DtlsTransport.cpp changed: re-check the BIO callback fix for system OpenSSL"
sed -i 's/(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1/(operationType \& BIO_CB_RETURN) ? static_cast<long>(ret) : 1/' "$dtls"

# Our changes to the worker (see the comment at the top of each patch).
for p in "$here"/patches/*.patch; do
  log "applying $(basename "$p")"
  patch -d "$src" -p1 --forward --quiet <"$p" >&2 || die "$(basename "$p") does not apply to mediasoup $version"
done

# Put each stand-in where its .wrap file says the subproject's sources live.
wrap_dir() { sed -n 's/^directory[[:space:]]*=[[:space:]]*//p' "$src/subprojects/$1.wrap"; }
for pair in libuv:libuv openssl:openssl libsrtp3:libsrtp3 flatbuffers:flatbuffers \
  abseil-cpp:abseil-cpp unordered-dense:unordered_dense; do
  wrap="${pair%%:*}"
  standin="${pair#*:}"
  dir="$(wrap_dir "$wrap")"
  [[ -n "$dir" ]] || die "no directory in subprojects/$wrap.wrap (mediasoup $version changed its wraps?)"
  rm -rf "$src/subprojects/$dir"
  cp -a "$here/standins/$standin" "$src/subprojects/$dir"
done

jobs="$(nproc 2>/dev/null || echo 2)"
(
  cd "$src"
  meson setup build --wrap-mode=nodownload --buildtype=release -Db_ndebug=true \
    -Dms_build_tests=false -Dms_build_fuzzer=false >&2
  ninja -C build -j "$jobs" mediasoup-worker >&2
)

strip "$src/build/mediasoup-worker" 2>/dev/null || true
install -m 0755 "$src/build/mediasoup-worker" "$out_bin.tmp"
mv -f "$out_bin.tmp" "$out_bin"
printf '%s\n' "$recipe" >"$out_dir/recipe"
log "built: $out_bin"
printf '%s\n' "$out_bin"
