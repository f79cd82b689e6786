#!/usr/bin/env bash
# Builds the kind node image offline (no registry, no release downloads) and
# prints its name; docker keeps it, tagged by a hash of its inputs, so a second
# run prints the name in a second. Needs a running docker (docker-host.sh up).
#
# `kind build node-image` cannot do this: it pulls etcd, CoreDNS, pause,
# kindnetd and the storage images. So this repeats what it does, from:
#   - a debootstrap bookworm rootfs with systemd, Debian's containerd, runc
#     and CNI plugins (the machine's own Debian mirror, see debian-mirror.sh),
#   - kind's base files (entrypoint, units, containerd config) from the kind
#     module (`go mod download sigs.k8s.io/kind@$KIND_VERSION`),
#   - kubelet, kubeadm, kubectl and the control plane built by build-bins.sh,
#     etcd $KIND_ETCD_VERSION (kubeadm 1.35 passes an etcd flag 3.5 rejects),
#     CoreDNS, and the pause image build-images.sh builds, as the images
#     kubeadm asks for (`kubeadm config images list`: static binaries on
#     nothing but passwd/group; kube-proxy also gets iptables-nft),
#   - a pod network (node/pod-network.sh: why a stand-in is written there).
# Deviations from kind's image, all for this Debian userland: containerd is
# Debian's 1.6 (/usr/bin, no OOMScoreAdjust, restrict_oom_score_adj, no
# fuse-overlayfs), kubelet runs with --fail-cgroupv1=false (cgroup v1 hosts),
# and runc-dropcaps is the node's runc too (it drops nothing where the host
# grants every capability).
#
# E2E_KIND_NODE_IMAGE, where set, is used instead and nothing is built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../cluster/versions.env
. "$repo/e2e/cluster/versions.env"
cache=${MMRTCD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mattermost-rtcd}
log() { printf '[node-image] %s\n' "$*" >&2; }
# shellcheck source=../images/debian-mirror.sh
. "$repo/e2e/images/debian-mirror.sh"
# Bump when what this script puts into the image changes in a way its
# hashed inputs (the files below, the versions) do not show.
NODE_RECIPE=1

if [ -n "${E2E_KIND_NODE_IMAGE:-}" ]; then echo "$E2E_KIND_NODE_IMAGE"; exit 0; fi

pause_tar=$(bash "$repo/e2e/images/build-images.sh" pause)
key=$( (echo "$K8S_VERSION $KIND_VERSION $KIND_ETCD_VERSION $COREDNS_VERSION $NODE_RECIPE $(basename "$pause_tar")"
  cd "$here" && sha256sum node-image.sh runc-dropcaps node/*) | sha256sum | cut -c1-12)
image=mmrtcd/kind-node:$K8S_VERSION-$key
if docker image inspect "$image" >/dev/null 2>&1; then
  log "$image: cached"
  echo "$image"
  exit 0
fi
t0=$SECONDS
bash "$repo/e2e/cluster/build-bins.sh" kind >&2
bash "$repo/e2e/cluster/build-bins.sh" node >&2
bash "$repo/e2e/cluster/build-bins.sh" control-plane >&2
k8s=$cache/kubernetes-$K8S_VERSION
kindsrc=$(cd "$cache/src/kind-$KIND_VERSION" && go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | jq -r .Dir)
K=$kindsrc/images/base/files

work=$cache/kind-node/build
rm -rf "$work"
mkdir -p "$work/images"
R=$work/rootfs
log "debootstrap bookworm with systemd, containerd, runc, CNI plugins (log $work/debootstrap.log)"
pkgs=systemd,systemd-sysv,dbus,containerd,runc,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod
pkgs+=,libseccomp2,pigz,ca-certificates,jq,procps,conntrack,socat,containernetworking-plugins,bash
debootstrap --variant=minbase --include="$pkgs" bookworm "$R" "$(debian_mirror)" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*

log "kind $KIND_VERSION's base files, adapted to Debian's containerd"
mkdir -p "$R/kind/bin" "$R/LICENSES" "$R/etc/containerd" "$R/etc/systemd/system/kubelet.service.d"
install -m 0755 "$K"/usr/local/bin/* "$R/usr/local/bin/"
cp -r "$K"/kind/. "$R/kind/"
chmod 0755 "$R/kind" "$R/kind/bin" "$R"/kind/bin/*
install -m 0644 "$K"/etc/crictl.yaml "$R/etc/"
install -m 0644 "$K"/etc/containerd/config.toml "$R/etc/containerd/"
install -m 0644 "$K"/etc/sysctl.d/* "$R/etc/sysctl.d/"
install -m 0644 "$K"/etc/systemd/system/*.service "$K"/etc/systemd/system/*.slice "$R/etc/systemd/system/"
install -m 0644 "$K"/etc/systemd/system/kubelet.service.d/* "$R/etc/systemd/system/kubelet.service.d/"
rm -f "$R/etc/systemd/system/containerd-fuse-overlayfs.service"
sed -i -e 's#^ExecStart=/usr/local/bin/containerd#ExecStart=/usr/bin/containerd#' -e '/^OOMScoreAdjust/d' \
  -e '/modprobe/d' "$R/etc/systemd/system/containerd.service"
# Debian's containerd 1.6 in a container that may not lower OOM scores; no
# fuse-overlayfs snapshotter (only rootless kind uses it).
sed -i -e 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' \
  -e '/^\[proxy_plugins/,/^$/d' "$R/etc/containerd/config.toml"
chroot "$R" ctr oci spec |
  jq '.hooks.createContainer[.hooks.createContainer|length] |= . + {"path":"/kind/bin/mount-product-files.sh"}' |
  jq 'del(.process.rlimits)' >"$R/etc/containerd/cri-base.json"
echo 'KUBELET_EXTRA_ARGS="--runtime-cgroups=/system.slice/containerd.service --fail-cgroupv1=false"' >"$R/etc/default/kubelet"
install -m 0755 "$here/runc-dropcaps" "$R/usr/local/sbin/runc"
install -m 0755 "$here/node/pod-network.sh" "$R/kind/bin/"
install -m 0644 "$here/node/mmrtcd-pod-network.service" "$R/etc/systemd/system/"
find "$R/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
rm -f "$R"/lib/systemd/system/multi-user.target.wants/* "$R"/etc/systemd/system/*.wants/* \
  "$R"/lib/systemd/system/local-fs.target.wants/* "$R"/lib/systemd/system/sockets.target.wants/*udev* \
  "$R"/lib/systemd/system/sockets.target.wants/*initctl* "$R"/lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>"$R/etc/systemd/journald.conf"
ln -sf /usr/lib/systemd/systemd "$R/sbin/init"
chroot "$R" systemctl enable kubelet.service containerd.service undo-mount-hacks.service mmrtcd-pod-network.service >/dev/null 2>&1
chroot "$R" systemctl mask systemd-binfmt.service >/dev/null 2>&1
mkdir -p "$R/etc/kubernetes/manifests" "$R/opt/cni/bin" "$R/etc/cni/net.d" "$R/kind/manifests"
cp "$R"/usr/lib/cni/{host-local,loopback,ptp,portmap,bridge} "$R/opt/cni/bin/"
install -m 0755 "$k8s/kubelet" "$k8s/kubeadm" "$k8s/kubectl" "$R/usr/bin/"
printf '%s' "$K8S_VERSION" >"$R/kind/version"
install -m 0644 "$here/node/default-cni.yaml" "$here/node/default-storage.yaml" "$R/kind/manifests/"

# The images kubeadm asks for, each a static binary on a minimal tree, named
# as this kubeadm lists them; the sandbox image also under the name kind's
# containerd config uses.
mapfile -t wanted < <("$k8s/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
sandbox=$(sed -n 's/^ *sandbox_image = "\(.*\)"/\1/p' "$R/etc/containerd/config.toml")
minimal() { # dir
  mkdir -p "$1/etc" "$1/tmp" "$1/usr/local/bin"
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
}
import_dir() { # dir name entrypoint-json
  tar -C "$1" -c . | docker import --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENTRYPOINT $3" - "$2" >/dev/null
}
# kube-proxy's iptables (nft backend, as the node's), nft and conntrack, with their libraries.
with_iptables() { # dir
  local b lib
  mkdir -p "$1/usr/sbin" "$1/usr/lib/x86_64-linux-gnu"
  for b in xtables-nft-multi nft conntrack; do cp -L "$R/usr/sbin/$b" "$1/usr/sbin/"; done
  for b in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf xtables-nft-multi "$1/usr/sbin/$b"
  done
  cp -a "$R/usr/lib/x86_64-linux-gnu/xtables" "$1/usr/lib/x86_64-linux-gnu/"
  for lib in $(chroot "$R" sh -c 'ldd /usr/sbin/xtables-nft-multi /usr/sbin/nft /usr/sbin/conntrack /usr/lib/x86_64-linux-gnu/xtables/*.so' |
    awk '$3 ~ /^\// {print $3} $1 ~ /^\/lib64/ {print $1}' | sort -u); do
    mkdir -p "$1$(dirname "$lib")"
    cp -L "$R$lib" "$1$lib"
  done
}
names=()
for ref in "${wanted[@]}" "$sandbox"; do
  d=$work/images/$(basename "${ref%%:*}")
  case $(basename "${ref%%:*}") in
    kube-apiserver | kube-controller-manager | kube-scheduler)
      b=$(basename "${ref%%:*}")
      minimal "$d" && cp "$k8s/$b" "$d/usr/local/bin/" && import_dir "$d" "$ref" "[\"/usr/local/bin/$b\"]" ;;
    kube-proxy)
      minimal "$d" && cp "$k8s/kube-proxy" "$d/usr/local/bin/" && with_iptables "$d"
      import_dir "$d" "$ref" '["/usr/local/bin/kube-proxy"]' ;;
    etcd)
      minimal "$d" && cp "$cache/etcd-$KIND_ETCD_VERSION/etcd" "$d/usr/local/bin/" && import_dir "$d" "$ref" '["/usr/local/bin/etcd"]' ;;
    coredns)
      minimal "$d" && cp "$cache/coredns-$COREDNS_VERSION/coredns" "$d/coredns" && import_dir "$d" "$ref" '["/coredns"]' ;;
    pause)
      docker tag "$(docker load -q -i "$pause_tar" | sed -n 's/^Loaded image: //p')" "$ref" ;;
    *) log "kubeadm lists an image this script does not know: $ref"; exit 1 ;;
  esac
  names+=("$ref")
done
log "control-plane images: ${names[*]}"
docker save "${names[@]}" -o "$work/images.tar"

log "assembling $image"
base=mmrtcd/kind-node-base:$key
tar -C "$R" -c . | docker import --change 'ENV container=docker' \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' - "$base" >/dev/null
rm -rf "$R"
b=mmrtcd-kind-node-build-$key
docker rm -f "$b" >/dev/null 2>&1 || true
docker run -d --name "$b" --privileged --security-opt seccomp=unconfined --entrypoint sleep "$base" infinity >/dev/null
trap 'docker rm -f "$b" >/dev/null 2>&1 || true' EXIT
docker exec -d "$b" sh -c 'containerd >/var/log/containerd-build.log 2>&1'
until docker exec "$b" ctr version >/dev/null 2>&1; do sleep 0.5; done # containerd's socket answering
docker exec -i "$b" ctr -n k8s.io images import --all-platforms --no-unpack - <"$work/images.tar" >/dev/null
docker exec "$b" sh -c 'pkill containerd; while pgrep -x containerd >/dev/null; do sleep 0.2; done; rm -f /var/log/containerd-build.log'
docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' "$b" "$image" >/dev/null
docker rm -f "$b" >/dev/null
docker rmi "$base" "${names[@]}" >/dev/null 2>&1 || true
rm -rf "$work"
# Older node images of this script are of no further use.
docker images --format '{{.Repository}}:{{.Tag}}' mmrtcd/kind-node | grep -vx "$image" | xargs -r docker rmi >/dev/null 2>&1 || true
log "$image: built in $((SECONDS - t0))s"
echo "$image"
