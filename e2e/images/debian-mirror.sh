# Sourced by build-images.sh and e2e/kind/node-image.sh (both debootstrap a
# bookworm rootfs); needs a log() function.
# The Debian mirror the machine already uses (deb822 or one-line sources), or
# MMRTCD_DEBIAN_MIRROR (a machine that is not Debian, e.g. a CI runner).
debian_mirror() {
  local m
  [ -n "${MMRTCD_DEBIAN_MIRROR:-}" ] && { echo "$MMRTCD_DEBIAN_MIRROR"; return; }
  m=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
    sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{print $1}' |
    grep -E '/debian/?$' | head -n1 || true)
  [ -n "$m" ] || { log "no Debian mirror in /etc/apt/sources.list*"; exit 1; }
  echo "$m"
}
