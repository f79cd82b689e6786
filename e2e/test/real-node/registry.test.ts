// The local registry's pure parts: its configuration, the address the real
// nodes reach it on, and the containerd host configuration that lets them
// pull from it over plain HTTP (and nothing more).
import { afterEach, describe, expect, test, vi } from "vitest";
import { parse } from "yaml";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostsToml, registryAddress, registryConfig, stalePushes } from "../../cluster/registry.ts";
import { hostIp } from "../../cluster/real-node/names.ts";

describe("the real-node cluster's registry", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  test("config: filesystem storage in the given directory, listening on the given address, no TLS", () => {
    const c = parse(registryConfig("/state/registry/data", "10.213.7.1:26500")) as {
      version: number;
      storage: { filesystem: { rootdirectory: string } };
      http: { addr: string; tls?: unknown };
    };
    expect(c.version).toBe(0.1);
    expect(c.storage.filesystem.rootdirectory).toBe("/state/registry/data");
    expect(c.http.addr).toBe("10.213.7.1:26500");
    expect(c.http.tls).toBeUndefined();
  });

  test("address: the host's veth address (reachable from every node), port from the cluster's port base", () => {
    vi.stubEnv("MMRTCD_CLUSTER_PORT_BASE", "26000");
    expect(registryAddress("/state")).toBe(`${hostIp("/state")}:26500`);
    vi.stubEnv("MMRTCD_REAL_NODE_SUBNET", "10.99.1");
    expect(registryAddress("/state")).toBe("10.99.1.1:26500");
  });

  test("hosts.toml: plain HTTP to exactly that host, for pulls only", () => {
    const t = hostsToml("10.213.7.1:26500");
    expect(t).toContain('server = "http://10.213.7.1:26500"');
    expect(t).toContain('[host."http://10.213.7.1:26500"]');
    expect(t).toContain('capabilities = ["pull", "resolve"]');
    expect(t).not.toMatch(/push|https|skip_verify/);
  });

  test("stale pushes: an image whose tar changed since it was pushed, or never pushed, is pushed again", () => {
    const state = mkdtempSync(join(tmpdir(), "registry-state-"));
    mkdirSync(join(state, "real-node"), { recursive: true });
    const pushed = {
      rtcd: { repository: "r/rtcd", tag: "local@sha256:1", digest: "sha256:1", tar: "/c/rtcd-aaa.tar" },
    };
    writeFileSync(join(state, "real-node", "images.json"), JSON.stringify(pushed));
    expect(stalePushes(state, { rtcd: "/c/rtcd-aaa.tar" })).toEqual([]);
    expect(stalePushes(state, { rtcd: "/c/rtcd-bbb.tar", curl: "/c/curl-1.tar" })).toEqual(["rtcd", "curl"]);
  });
});
