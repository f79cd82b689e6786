#!/usr/bin/env bash
# Docker for the kind provider, and the one place that adapts it to this kind
# of machine. Nothing else in the repository starts, stops or configures docker.
#
#   docker-host.sh up      install Debian's docker.io if docker is missing, and
#                          start dockerd if no daemon answers (remembering that
#                          this script started it); prints nothing on stdout
#   docker-host.sh down    stop dockerd, only if `up` started it
#   docker-host.sh status  "running (ours)", "running (not ours)" or "stopped"
#
# Machine-specific part, active only where it is needed: docker gives a
# privileged container (every kind node is one) every capability up to
# /proc/sys/kernel/cap_last_cap. Where this host's bounding set (CapBnd in
# /proc/self/status) lacks one of them (sandboxed machines lack
# CAP_SYS_RESOURCE), runc cannot apply them, so dockerd gets runc-dropcaps
# (next to this file) as its default runtime, which removes what the host
# cannot grant. On any other host dockerd runs stock. A daemon that is already
# running (a CI runner's, a developer's) is used as it is and never touched.
#
# The daemon's settings are command-line flags, not /etc/docker/daemon.json,
# so nothing outside this process changes:
#   --data-root /var/lib/docker  docker's default: images (the kind node image,
#       tagged by its inputs, see node-image.sh) stay between runs like the
#       other caches, and a daemon started by hand later finds them. Not the
#       project cache: overlay2 needs its own directory tree and the images
#       are docker's, not ours, to prune.
#   --ip-forward=false  kind's nodes share one bridge and the API server is
#       reached through docker's userland proxy, so no routing is needed;
#       docker enabling forwarding would also set the host's FORWARD policy to
#       DROP, which other networks on a shared machine rely on.
#   --oom-score-adjust=0  a negative adjustment needs CAP_SYS_RESOURCE too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${MMRTCD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mattermost-rtcd}
state=$cache/docker-host
mkdir -p "$state"
log() { printf '[docker-host] %s\n' "$*" >&2; }

answers() { docker info >/dev/null 2>&1; }

# Does this host's bounding set lack a capability docker would grant?
caps_short() {
  local last bnd full
  last=$(cat /proc/sys/kernel/cap_last_cap)
  bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
  full=$(((1 << (last + 1)) - 1))
  [ $((bnd & full)) -ne "$full" ]
}

ours() { [ -s "$state/dockerd.pid" ] && kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null; }

install_docker() {
  command -v dockerd >/dev/null && command -v docker >/dev/null && return
  log "installing docker.io (Debian's)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
}

up() {
  if answers; then
    ours && log "dockerd: running (ours)" || log "dockerd: running (not ours, used as it is)"
    return
  fi
  install_docker
  local args=(--data-root /var/lib/docker --ip-forward=false --oom-score-adjust=0
    --pidfile "$state/dockerd.pidfile")
  if caps_short; then
    log "this host's bounding set lacks a capability docker grants: runtime runc-dropcaps"
    args+=(--add-runtime "runc-dropcaps=$here/runc-dropcaps" --default-runtime runc-dropcaps)
  fi
  log "starting dockerd (log $state/dockerd.log)"
  setsid dockerd "${args[@]}" >"$state/dockerd.log" 2>&1 </dev/null &
  echo $! >"$state/dockerd.pid"
  local t0=$SECONDS
  until answers; do
    if ! kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null; then
      tail -20 "$state/dockerd.log" >&2
      rm -f "$state/dockerd.pid"
      log "dockerd exited"
      exit 1
    fi
    [ $((SECONDS - t0)) -lt 60 ] || { tail -20 "$state/dockerd.log" >&2; log "dockerd did not answer in 60s"; exit 1; }
    sleep 0.5 # polling the daemon's socket until it answers
  done
  log "dockerd: up in $((SECONDS - t0))s"
}

down() {
  if ! ours; then
    rm -f "$state/dockerd.pid"
    log "dockerd: not started by this script, left alone"
    return
  fi
  local pid
  pid=$(cat "$state/dockerd.pid")
  kill "$pid"
  local t0=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    [ $((SECONDS - t0)) -lt 60 ] || { kill -9 "$pid" 2>/dev/null || true; break; }
    sleep 0.5 # waiting for dockerd (and its containerd) to exit
  done
  rm -f "$state/dockerd.pid"
  log "dockerd: stopped"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) if ours; then echo "running (ours)"; elif answers; then echo "running (not ours)"; else echo stopped; fi ;;
  *) echo "usage: docker-host.sh up|down|status" >&2; exit 2 ;;
esac
