#!/usr/bin/env bash
# The operator as its image runs it (operator/Dockerfile) and as
# `npm run bench:operator` measures it: operator/src/cli/main.ts and its
# production dependencies bundled by rolldown, not minified (stack traces in
# the logs stay readable).
#
#   bundle-operator.sh <dir>    writes <dir>/main.js and its chunks
#
# Code splitting on: the media probe's modules (werift, msgpack), which the
# operator imports lazily, go to a chunk of their own that Node reads only
# when a first probe runs. In one file they were parsed at start: about
# 12 MiB more resident memory before the first CR (docs/benchmarks.md).
# src/version.ts reads the package.json one level above <dir>.
#
# No comments and ASCII only: V8 keeps the bundle's source text in memory for
# the life of the process, and one character above U+00FF anywhere in it (a
# dependency's comment had "–" and "’") makes V8 hold all of it as UTF-16:
# 3.7 MiB where the ASCII text without comments is 1.7 MiB. Measured: 2-3 MiB
# less resident at start. The licences the comments carried ship whole in
# the image's /licenses (operator/Dockerfile).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: bundle-operator.sh <dir>}
rm -rf "$out"
# By its path, not npx, so a missing rolldown fails here, never fetched.
"$repo/node_modules/.bin/rolldown" "$repo/operator/src/cli/main.ts" --platform node --format esm \
  --charset ascii --no-comments -d "$out" >&2
