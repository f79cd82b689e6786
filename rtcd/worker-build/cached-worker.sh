#!/usr/bin/env bash
# Prints the path of the mediasoup worker build-worker.sh has cached, if it
# was built from the current recipe; exits 1 (printing nothing) otherwise.
# Never builds. e2e/images/build-images.sh uses it to put that very binary in
# the rtcd image instead of compiling the worker a second time.
#
# A separate script, not a flag of build-worker.sh: that script's text is part
# of the worker's recipe hash, so editing it rebuilds every cached worker.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rtcd_dir="$(dirname "$here")"
pkg=""
for candidate in "$rtcd_dir/node_modules/mediasoup" "$rtcd_dir/../node_modules/mediasoup"; do
  [[ -f "$candidate/package.json" ]] && { pkg="$candidate"; break; }
done
[[ -n "$pkg" ]] || exit 1
version="$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n1)"
out_dir="${MMRTCD_CACHE_DIR:-$HOME/.cache/mattermost-rtcd}/mediasoup-worker-$version"
# The same fingerprint build-worker.sh writes next to the binary.
recipe="$(cat "$here/build-worker.sh" $(find "$here/standins" "$here/patches" -type f | LC_ALL=C sort) | sha256sum | cut -c1-16)"
[[ -x "$out_dir/mediasoup-worker" && -f "$out_dir/recipe" && "$(cat "$out_dir/recipe")" == "$recipe" ]] || exit 1
printf '%s\n' "$out_dir/mediasoup-worker"
