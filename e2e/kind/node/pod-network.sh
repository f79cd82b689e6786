#!/bin/bash
# The kind node image's pod network: a stand-in for kindnetd, run by systemd
# (mmrtcd-pod-network.service) on every node.
#
# Why a stand-in: kindnetd left the kind module (sigs.k8s.io/kind no longer
# has cmd/kindnetd) and its own module is not served by the Go module proxy
# this machine can reach (sigs.k8s.io/kindnet and github.com/aojea/kindnet:
# 403 for @latest and for named versions), and no image can be pulled.
# Debian's CNI plugins do the per-pod work; this only does kindnetd's
# node-level part, on IPv4 only (kind's default pod subnet), without
# NetworkPolicy:
#   - this node's bridge conflist for its spec.podCIDR,
#   - a route to every other node's podCIDR via that node's InternalIP,
#   - MASQUERADE for pod traffic leaving the pod network.
# It re-reads the nodes every few seconds (nodes join after it starts).
set -u
POD_SUBNET=${POD_SUBNET:-10.244.0.0/16}
KC=/etc/kubernetes/kubelet.conf
CONF=/etc/cni/net.d/10-mmrtcd.conflist
self=$(hostname)
sysctl -qw net.ipv4.ip_forward=1
while true; do
  if [ -f $KC ]; then
    # "|"-separated: a node without a podCIDR yet must give an empty field,
    # not shift its address into the CIDR's place.
    lines=$(kubectl --kubeconfig $KC get nodes -o jsonpath='{range .items[*]}{.metadata.name}|{.spec.podCIDR}|{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' 2>/dev/null)
    while IFS='|' read -r name cidr ip; do
      [[ $cidr == */* ]] || continue
      if [ "$name" = "$self" ]; then
        grep -q "\"$cidr\"" $CONF 2>/dev/null || {
          cat >$CONF.tmp <<JSON
{"cniVersion":"0.4.0","name":"mmrtcd","plugins":[
 {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,"hairpinMode":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"$cidr"}]],"routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true}}]}
JSON
          mv $CONF.tmp $CONF
        }
      elif [ -n "$ip" ]; then
        ip route replace "$cidr" via "$ip" 2>/dev/null
      fi
    done <<<"$lines"
    iptables -t nat -C POSTROUTING -s "$POD_SUBNET" ! -d "$POD_SUBNET" -j MASQUERADE 2>/dev/null ||
      iptables -t nat -A POSTROUTING -s "$POD_SUBNET" ! -d "$POD_SUBNET" -j MASQUERADE
  fi
  sleep 5 # a reconcile period, like kindnetd's; nothing waits on this loop
done
