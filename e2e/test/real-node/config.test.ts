// The real node's rendered configuration: the settings this kind of machine
// needs (cgroup v1 via cgroupfs, no CAP_SYS_RESOURCE), and everything kept
// under the node's own directory so `down` can remove it.
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import {
  apiEndpointSlice,
  cniConfig,
  containerdConfig,
  corefile,
  kubeletArgs,
  kubeletConfig,
  kubeProxyConfig,
  realNode,
  realNodesFromArgs,
} from "../../cluster/real-node/config.ts";
import { hostNames } from "../../cluster/real-node/names.ts";

const n = realNode("/state", 2);
const h = hostNames("/state");

describe("real node configuration", () => {
  test("nodes get their own zone, netns, address, pod subnet and cgroup parent", () => {
    expect(n).toMatchObject({
      name: "real-node-2",
      zone: "zone-b",
      netns: `mmrtcd-${h.tag}-rn2`,
      ip: `${h.subnet}.12`,
      podCidr: "10.244.102.0/24",
      dir: "/state/nodes/real-node-2",
      cgroupRoot: `/mmrtcd-${h.tag}-real-node-2`,
    });
    expect(realNode("/state", 1).podCidr).not.toBe(n.podCidr);
  });

  test("containerd: own root, state, socket and runc root; restricted oom_score_adj; our pause image; registry hosts", () => {
    const c = containerdConfig(n, "10.213.7.1:26500/mmrtcd-pause:local@sha256:abc");
    expect(c).toContain('root = "/state/nodes/real-node-2/containerd/root"');
    expect(c).toContain('state = "/state/nodes/real-node-2/containerd/state"');
    expect(c).toContain('address = "/state/nodes/real-node-2/containerd/containerd.sock"');
    expect(c).toContain('Root = "/state/nodes/real-node-2/containerd/runc"');
    expect(c).toContain("restrict_oom_score_adj = true");
    expect(c).toContain("SystemdCgroup = false");
    expect(c).toContain('sandbox_image = "10.213.7.1:26500/mmrtcd-pause:local@sha256:abc"');
    // Registries are configured per host (hosts.toml) under the node's own directory.
    expect(c).toContain('config_path = "/state/nodes/real-node-2/containerd/certs.d"');
    expect(c).not.toMatch(/"\/(var|run|etc|opt)\//);
  });

  test("CNI: bridge with host-local IPAM in the node's subnet, state under the node's directory", () => {
    const cni = JSON.parse(cniConfig(n)) as { plugins: { type: string; ipam?: Record<string, unknown> }[] };
    const bridge = cni.plugins.find((p) => p.type === "bridge")!;
    expect(bridge.ipam).toMatchObject({
      type: "host-local",
      ranges: [[{ subnet: "10.244.102.0/24" }]],
      dataDir: "/state/nodes/real-node-2/cni/ipam",
    });
    expect(cni.plugins.map((p) => p.type)).toContain("portmap");
  });

  test("kubelet: cgroupfs on cgroup v1, the node's socket, cluster DNS, labels", () => {
    const k = parse(kubeletConfig(n, { caCert: "/ca", kubeconfig: "/kc" }, "10.213.0.1")) as Record<
      string,
      unknown
    >;
    expect(k).toMatchObject({
      cgroupDriver: "cgroupfs",
      failCgroupV1: false,
      cgroupRoot: `/mmrtcd-${h.tag}-real-node-2`,
      containerRuntimeEndpoint: "unix:///state/nodes/real-node-2/containerd/containerd.sock",
      clusterDNS: ["10.213.0.1"],
      protectKernelDefaults: false,
      authentication: { anonymous: { enabled: false } },
      authorization: { mode: "Webhook" },
    });
    const args = kubeletArgs(n, "/cfg", "/kc").join(" ");
    expect(args).toContain(`--node-ip=${h.subnet}.12`);
    expect(args).toContain("topology.kubernetes.io/zone=zone-b");
    expect(args).toContain("mmrtcd.local/real-node=true");
    // A dedicated pool: only pods that tolerate it land there.
    expect(args).toContain("--register-with-taints=mmrtcd.local/real-node=true:NoSchedule");
    expect(args).toContain("--root-dir=/state/nodes/real-node-2/kubelet");
  });

  test("kubelet: pod logs in the node's own directory, not the machine's /var/log/pods", () => {
    // Every kubelet's container GC removes the directories there of pods it
    // does not know: with one shared directory, each node deleted the other's
    // pod logs, and `kubectl logs` of a live pod said "no such file".
    const k = parse(kubeletConfig(n, { caCert: "/ca", kubeconfig: "/kc" }, "10.213.0.1")) as Record<
      string,
      unknown
    >;
    expect(k["podLogsDir"]).toBe("/state/nodes/real-node-2/pod-logs");
  });

  test("kube-proxy: iptables mode, machine-wide conntrack limits left alone", () => {
    const p = parse(kubeProxyConfig(n, "/kc")) as Record<string, unknown>;
    expect(p).toMatchObject({
      mode: "iptables",
      hostnameOverride: "real-node-2",
      conntrack: { maxPerCore: 0 },
    });
  });

  test("CoreDNS binds only the host's veth address and answers cluster.local with a 1 s TTL", () => {
    const cf = corefile("10.213.0.1", "/kc");
    expect(cf).toContain("bind 10.213.0.1");
    expect(cf).toMatch(/kubernetes cluster\.local[^}]*ttl 1/s);
  });

  test("the kubernetes Service's endpoints point at the host's forwarder", () => {
    expect(apiEndpointSlice("10.213.0.1", 16443)).toMatchObject({
      metadata: { name: "kubernetes", labels: { "kubernetes.io/service-name": "kubernetes" } },
      endpoints: [{ addresses: ["10.213.0.1"] }],
      ports: [{ name: "https", port: 16443 }],
    });
  });

  test("--real-node is one node, --real-nodes=N or --real-nodes N is N", () => {
    expect(realNodesFromArgs([])).toBe(0);
    expect(realNodesFromArgs(["--real-node"])).toBe(1);
    expect(realNodesFromArgs(["--real-nodes=2"])).toBe(2);
    expect(realNodesFromArgs(["--real-nodes", "3"])).toBe(3);
    expect(() => realNodesFromArgs(["--real-nodes=x"])).toThrow(/number/);
  });
});
