#!/usr/bin/env bash
# Makes a distroless-style root filesystem for the final stage of our images
# (FROM scratch + COPY --from=<stage> <root> /): the given executables at the
# same paths, exactly the shared libraries they link (as ldd resolves them in
# this Debian build stage), an /etc/passwd and /etc/group naming root and the
# non-root user 65532, an nsswitch.conf, and /tmp. Nothing else: no shell, no
# package manager, no coreutils. The chart's and the operator's probes are
# httpGet, so nothing in the pod needs to exec a program in the container.
#
#   runtime-rootfs.sh <root> <executable>...
#
# ldd sees only what an executable links, not what it would dlopen: none of
# ours does (the mediasoup worker did while Debian's libsrtp2, built with
# NSS, was in it; rtcd/worker-build/build-worker.sh).
#
# Runs in a build stage of rtcd/Dockerfile and operator/Dockerfile; fails if
# an executable cannot start in <root> or lacks a library there.
set -euo pipefail
root=$1
shift
exes=("$@")
mkdir -p "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"

# Merged /usr (bookworm): /lib, /lib64... are links into /usr. Keep the same
# links, so the paths ldd prints and the ELF interpreter path both resolve.
for d in bin sbin lib lib32 lib64 libx32; do
  [ -L "/$d" ] && ln -sfn "$(readlink "/$d")" "$root/$d"
done

# Each file is copied (not linked) under the name the loader looks for, in its
# directory's real location (so /lib/x/libc.so.6 lands in /usr/lib/x).
copy_as_named() { # path
  local dir
  dir=$(readlink -f "$(dirname "$1")")
  mkdir -p "$root$dir"
  cp -L --preserve=mode "$1" "$root$dir/$(basename "$1")"
}

interp=""
for f in "${exes[@]}"; do
  copy_as_named "$f"
  # ldd lines: "libx.so.1 => /path/libx.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
  while read -r lib; do
    copy_as_named "$lib"
  done < <(ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
  [ -n "$interp" ] || interp=$(ldd "$f" | awk '$1 ~ /^\// {print $1}' | head -n1)
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nonroot:x:65532:
EOF
# /etc/hosts before DNS, as Kubernetes' hostAliases expect; glibc's built-in
# default without this file asks DNS first.
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"

# The proof, in the root itself: every library resolves there, and Node starts.
for f in "${exes[@]}"; do
  if chroot "$root" "$interp" --list "$f" | grep 'not found'; then
    echo "runtime-rootfs: $f lacks a library in $root" >&2
    exit 1
  fi
done
chroot "$root" /usr/local/bin/node -e 'process.exit(0)'
