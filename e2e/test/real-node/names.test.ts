// Two local clusters on one machine (two MMRTCD_CLUSTER_DIRs) must never
// share a machine-wide name or address: `down` of one removed the other's
// network namespaces and veth when these were fixed.
import { describe, expect, test } from "vitest";
import { realNode } from "../../cluster/real-node/config.ts";
import {
  hostIp,
  hostNames,
  IFNAME_MAX,
  isNodeNetns,
  nodeNetns,
  subnetClash,
} from "../../cluster/real-node/names.ts";

const env = {};
const a = hostNames("/home/u/.cache/mattermost-rtcd/cluster", env);
const b = hostNames("/work/wt/x/.tmp/cluster", env);

describe("real-node names per cluster state dir", () => {
  test("two state dirs share no namespace, veth, cgroup parent, CNI network or subnet", () => {
    const [na, nb] = [
      realNode("/home/u/.cache/mattermost-rtcd/cluster", 1),
      realNode("/work/wt/x/.tmp/cluster", 1),
    ];
    expect(na.netns).not.toBe(nb.netns);
    expect(na.cgroupRoot).not.toBe(nb.cgroupRoot);
    expect(na.cniNetwork).not.toBe(nb.cniNetwork);
    expect(a.switchNetns).not.toBe(b.switchNetns);
    expect(a.hostVeth).not.toBe(b.hostVeth);
    expect(a.subnet).not.toBe(b.subnet);
    expect(hostIp("/home/u/.cache/mattermost-rtcd/cluster", env)).not.toBe(
      hostIp("/work/wt/x/.tmp/cluster", env),
    );
  });

  test("the same state dir always gets the same names, however it is spelt", () => {
    expect(hostNames("/work/wt/x/.tmp/cluster/", env)).toEqual(b);
    expect(hostNames("/work/wt/x/.tmp/../.tmp/cluster", env)).toEqual(b);
  });

  test("names fit Linux's limits and carry the tool's prefix", () => {
    expect(a.hostVeth.length).toBeLessThanOrEqual(IFNAME_MAX);
    expect(a.hostVeth).toMatch(/^mmrtcd-[0-9a-f]{6}$/);
    expect(a.switchNetns).toBe(`mmrtcd-${a.tag}-switch`);
    expect(nodeNetns(a, 3)).toBe(`mmrtcd-${a.tag}-rn3`);
    expect(a.subnet).toMatch(/^10\.213\.\d{1,3}$/);
    expect(Number(a.subnet.split(".")[2])).toBeLessThan(256);
  });

  test("a cluster recognises only its own node namespaces", () => {
    expect(isNodeNetns(a, nodeNetns(a, 2))).toBe(true);
    expect(isNodeNetns(a, a.switchNetns)).toBe(false);
    expect(isNodeNetns(a, nodeNetns(b, 2))).toBe(false);
    expect(isNodeNetns(a, "mmrtcd-rn2")).toBe(false);
  });

  test("MMRTCD_REAL_NODE_SUBNET still moves the subnet, and is checked", () => {
    expect(hostNames("/s", { MMRTCD_REAL_NODE_SUBNET: "10.99.7" }).subnet).toBe("10.99.7");
    expect(() => hostNames("/s", { MMRTCD_REAL_NODE_SUBNET: "10.99" })).toThrow(/first three octets/);
  });

  test("a /24 already on another interface is refused, naming the cluster that holds it", () => {
    const ours = { dev: a.hostVeth, ip: `${a.subnet}.1`, alias: "/home/u/.cache/mattermost-rtcd/cluster" };
    expect(subnetClash(a, [{ dev: "eth0", ip: "192.168.1.5" }, ours])).toBeUndefined();
    const other = { dev: b.hostVeth, ip: `${a.subnet}.1`, alias: "/work/wt/x/.tmp/cluster" };
    expect(subnetClash(a, [other])).toMatch(
      new RegExp(
        `${a.subnet.replace(/\./g, "\\.")}\\.0/24 is already on interface ${b.hostVeth} .*the cluster in /work/wt/x/\\.tmp/cluster`,
      ),
    );
    expect(subnetClash(a, [{ dev: "wg0", ip: `${a.subnet}.7` }])).toMatch(/something else on this machine/);
  });
});
