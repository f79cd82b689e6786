// Pure renderers for a real node's configuration: containerd, CNI, kubelet,
// kube-proxy and CoreDNS. No I/O here, so each can be unit-checked and read
// on its own; node.ts writes them and starts the processes.
import { join } from "node:path";
import { stringify } from "yaml";
import { POD_CIDR, SERVICE_CIDR } from "../control-plane.ts";
import { hostNames, nodeNetns } from "./names.ts";

export { hostIp } from "./names.ts";

/** `--real-node` is one node, `--real-nodes=N` (or `--real-nodes N`) is N. */
export function realNodesFromArgs(args: readonly string[]): number {
  let n = 0;
  args.forEach((a, i) => {
    if (a === "--real-node") n = Math.max(n, 1);
    const m = /^--real-nodes(?:=(.*))?$/.exec(a);
    if (m) n = Number(m[1] ?? args[i + 1]);
  });
  if (!Number.isInteger(n) || n < 0 || n > 9) throw new Error("--real-nodes takes a number from 1 to 9");
  return n;
}

export interface RealNode {
  name: string;
  index: number;
  zone: string;
  netns: string;
  /** The node's IP: its veth address on the shared segment. */
  ip: string;
  /** This node's pod subnet (bridge CNI, host-local IPAM). */
  podCidr: string;
  /** Everything this node writes, under the cluster's state dir. */
  dir: string;
  containerdSock: string;
  /** cgroup v1 parent of this node's pods, so two kubelets (of any cluster) never share kubepods. */
  cgroupRoot: string;
  /** The CNI network's name (names.ts: unique to the cluster). */
  cniNetwork: string;
}

/**
 * Real nodes are zone-a, zone-b, ... in order. The kwok nodes use the same
 * zone names, so real pods are placed by the `mmrtcd.local/real-node` label,
 * not by zone.
 */
export function realNode(stateDir: string, index: number): RealNode {
  const name = `real-node-${index}`;
  const dir = join(stateDir, "nodes", name);
  const h = hostNames(stateDir);
  return {
    name,
    index,
    zone: `zone-${String.fromCharCode(96 + (((index - 1) % 26) + 1))}`,
    netns: nodeNetns(h, index),
    ip: `${h.subnet}.${10 + index}`,
    podCidr: `10.244.${100 + index}.0/24`,
    dir,
    containerdSock: join(dir, "containerd", "containerd.sock"),
    cgroupRoot: `/mmrtcd-${h.tag}-${name}`,
    cniNetwork: h.cniNetwork,
  };
}

export const REAL_NODE_LABEL = "mmrtcd.local/real-node";
/**
 * Real nodes are a dedicated pool: other test files' pods (images that exist
 * in no registry here) must stay on kwok nodes, so only pods that tolerate
 * this taint land on a real node.
 */
export const REAL_NODE_TAINT = { key: REAL_NODE_LABEL, value: "true", effect: "NoSchedule" } as const;
export const CNI_BIN_DIR = "/usr/lib/cni";

/** containerd's registry host configuration directory (config_path): one `<host:port>/hosts.toml` per registry. */
export const registryConfigPath = (n: RealNode) => join(n.dir, "containerd", "certs.d");

/** `sandboxImage`: the pause image in the cluster's registry, pulled on the first pod like every other image. */
export function containerdConfig(n: RealNode, sandboxImage: string): string {
  const c = join(n.dir, "containerd");
  const q = JSON.stringify;
  return `version = 2
root = ${q(join(c, "root"))}
state = ${q(join(c, "state"))}
# Snapshotters this kernel or machine lacks only add noise to the log.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${q(n.containerdSock)}

[ttrpc]
  address = ${q(join(c, "containerd.sock.ttrpc"))}

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(c, "opt"))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(sandboxImage)}
  # Root here lacks CAP_SYS_RESOURCE: a negative oom_score_adj fails every sandbox.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's own state, apart from any other containerd on the machine.
        Root = ${q(join(c, "runc"))}
  # Registries by host (hosts.toml), here the cluster's own plain-HTTP one;
  # hosts not listed are pulled from with containerd's defaults.
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ${q(registryConfigPath(n))}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(CNI_BIN_DIR)}
    conf_dir = ${q(join(n.dir, "cni", "net.d"))}
`;
}

export function cniConfig(n: RealNode): string {
  return (
    JSON.stringify(
      {
        cniVersion: "1.0.0",
        name: n.cniNetwork,
        plugins: [
          {
            type: "bridge",
            bridge: "cni0",
            isGateway: true,
            // Pods reach the host (CoreDNS, the API server) through the node's
            // address: the host has no route to pod subnets, by design.
            ipMasq: true,
            hairpinMode: true,
            ipam: {
              type: "host-local",
              ranges: [[{ subnet: n.podCidr }]],
              routes: [{ dst: "0.0.0.0/0" }],
              dataDir: join(n.dir, "cni", "ipam"),
            },
          },
          { type: "portmap", capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ) + "\n"
  );
}

export interface KubeletPaths {
  caCert: string;
  kubeconfig: string;
}

export function kubeletConfig(n: RealNode, p: KubeletPaths, dnsIp: string): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // cgroup v1 only on this kind of machine, and no systemd as PID 1.
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    cgroupRoot: n.cgroupRoot,
    containerRuntimeEndpoint: `unix://${n.containerdSock}`,
    // Not the machine's /var/log/pods: each kubelet's container GC removes
    // the pod directories there that it does not know, i.e. the other nodes'.
    podLogsDir: join(n.dir, "pod-logs"),
    address: n.ip,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: p.caCert },
    },
    authorization: { mode: "Webhook" },
    clusterDomain: "cluster.local",
    clusterDNS: [dnsIp],
    resolvConf: "/etc/resolv.conf",
    failSwapOn: false,
    // Leave the host's kernel settings alone (kubelet would otherwise set
    // vm.overcommit_memory and kernel.panic machine-wide).
    protectKernelDefaults: false,
    makeIPTablesUtilChains: false,
    // The disk is shared with everything else on the machine: evict only when
    // it is really full, never because of other people's files.
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    // Status within seconds of a change, so tests see readiness flips quickly.
    nodeStatusUpdateFrequency: "4s",
    syncFrequency: "10s",
    podCIDR: n.podCidr,
    maxPods: 30,
    enforceNodeAllocatable: [],
    staticPodPath: "",
    rotateCertificates: false,
    serverTLSBootstrap: false,
    shutdownGracePeriod: "0s",
    localStorageCapacityIsolation: true,
  });
}

export function kubeletArgs(n: RealNode, configFile: string, kubeconfig: string): string[] {
  return [
    `--config=${configFile}`,
    `--kubeconfig=${kubeconfig}`,
    `--root-dir=${join(n.dir, "kubelet")}`,
    `--cert-dir=${join(n.dir, "kubelet-pki")}`,
    `--hostname-override=${n.name}`,
    `--node-ip=${n.ip}`,
    `--node-labels=${[
      `topology.kubernetes.io/zone=${n.zone}`,
      "topology.kubernetes.io/region=local",
      `${REAL_NODE_LABEL}=true`,
    ].join(",")}`,
    `--register-with-taints=${REAL_NODE_TAINT.key}=${REAL_NODE_TAINT.value}:${REAL_NODE_TAINT.effect}`,
    "--v=1",
  ];
}

export function kubeProxyConfig(n: RealNode, kubeconfig: string): string {
  return stringify({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: "iptables",
    clientConnection: { kubeconfig },
    hostnameOverride: n.name,
    bindAddress: n.ip,
    clusterCIDR: POD_CIDR,
    healthzBindAddress: "127.0.0.1:10256",
    metricsBindAddress: "127.0.0.1:10249",
    // Zero keeps the machine-wide conntrack limits as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    iptables: { syncPeriod: "10s", minSyncPeriod: "0s" },
  });
}

/**
 * CoreDNS for the cluster: answers cluster.local from the API server (so a
 * headless Service resolves to its ready pods' IPs, as the Mattermost plugin
 * sees them) with a 1 s TTL, and forwards the rest to the host's resolvers.
 */
export function corefile(listenIp: string, kubeconfig: string): string {
  return `.:53 {
    bind ${listenIp}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 1
    }
    forward . /etc/resolv.conf
    cache 1
    reload
}
`;
}

/** The in-cluster `kubernetes` Service's endpoints: the host's forwarder to the API server. */
export function apiEndpointSlice(ip: string, port: number): object {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "kubernetes",
      namespace: "default",
      labels: {
        "kubernetes.io/service-name": "kubernetes",
        "endpointslice.kubernetes.io/managed-by": "mmrtcd.local-real-node",
      },
    },
    addressType: "IPv4",
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports: [{ name: "https", port, protocol: "TCP" }],
  };
}

export { SERVICE_CIDR };
