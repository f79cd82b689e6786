// The worker's UDP sockets send in IP_PMTUDISC_PROBE (worker patch
// 0004-udp-pmtudisc-probe): every datagram with Don't Fragment and IPv4 ID 0,
// so that the kernel does not hash a fresh ID for each one (1.6-2.5 % of the
// worker's samples in the benchmark's rows, docs/benchmarks.md). Nothing in a call
// would fail if the patch were lost; this says so. The sockets' mode is read
// from the worker itself: pidfd_getfd(2) copies each of its UDP sockets into
// a helper, which asks getsockopt(2).
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { types as ms } from "mediasoup";
import { createPatchedWorker } from "./support/patched-worker.ts";

// <linux/in.h>, <linux/in6.h>
const IP_MTU_DISCOVER = 10;
const IPV6_MTU_DISCOVER = 23;
const PMTUDISC_NAMES = ["DONT", "WANT", "DO", "PROBE", "INTERFACE", "OMIT"];
const IP_PMTUDISC_PROBE = 3;

// Prints, for each fd of pid given, "fd family ipv4-mode ipv6-mode".
const HELPER = `
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(int(sys.argv[1]))
for fd in map(int, sys.argv[2:]):
    n = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
    if n < 0:
        sys.exit(f"pidfd_getfd({fd}): {os.strerror(ctypes.get_errno())}")
    s = socket.socket(fileno=n)
    v6 = s.getsockopt(socket.IPPROTO_IPV6, ${IPV6_MTU_DISCOVER}) if s.family == socket.AF_INET6 else -1
    print(fd, int(s.family), s.getsockopt(socket.IPPROTO_IP, ${IP_MTU_DISCOVER}), v6)
    s.close()
`;

// Machines (and containers) without IPv6 have no ::1 to listen on.
const hasIPv6Loopback = (() => {
  try {
    return /^0{31}1 /m.test(readFileSync("/proc/net/if_inet6", "utf8"));
  } catch {
    return false;
  }
})();

// The worker's UDP sockets: its socket fds whose inodes /proc/net/udp{,6} lists.
function udpSocketFds(pid: number): number[] {
  const inodes = new Set<string>();
  for (const table of ["udp", "udp6"]) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, "utf8").split("\n").slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode) inodes.add(inode);
    }
  }
  const fds: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed since the listing
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode && inodes.has(inode)) fds.push(Number(fd));
  }
  return fds;
}

describe("the mediasoup worker's UDP sockets", () => {
  let worker: ms.Worker;

  beforeAll(async () => {
    worker = await createPatchedWorker();
  });
  afterAll(() => worker?.close());

  const families = hasIPv6Loopback ? "IPv4 and IPv6" : "IPv4 only: this machine has no ::1";
  test(`send with Don't Fragment and no IP ID (IP_PMTUDISC_PROBE), ${families}`, async () => {
    // Each kind of socket rtcd's workers open: the WebRTC server's (every
    // session's media), a transport's own, and a pipe between workers.
    await worker.createWebRtcServer({
      listenInfos: [
        { protocol: "udp", ip: "127.0.0.1", port: 0 },
        ...(hasIPv6Loopback ? [{ protocol: "udp" as const, ip: "::1", port: 0 }] : []),
      ],
    });
    const router = await worker.createRouter({
      mediaCodecs: [{ kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2 }],
    });
    await router.createWebRtcTransport({ listenInfos: [{ protocol: "udp", ip: "127.0.0.1" }] });
    await router.createPipeTransport({ listenInfo: { protocol: "udp", ip: "127.0.0.1" } });

    const fds = udpSocketFds(worker.pid);
    expect(fds.length, `UDP sockets of worker ${worker.pid}`).toBe(hasIPv6Loopback ? 4 : 3);
    const out = spawnSync("python3", ["-c", HELPER, String(worker.pid), ...fds.map(String)], {
      encoding: "utf8",
    });
    expect(out.status, out.stderr).toBe(0);
    const modes = out.stdout
      .trim()
      .split("\n")
      .map((l) => {
        const [fd, family, v4, v6] = l.split(" ").map(Number) as [number, number, number, number];
        return {
          fd,
          family: family === 10 ? "IPv6" : "IPv4",
          ipv4: PMTUDISC_NAMES[v4] ?? v4,
          ...(v6 >= 0 ? { ipv6: PMTUDISC_NAMES[v6] ?? v6 } : {}),
        };
      });
    const probe = PMTUDISC_NAMES[IP_PMTUDISC_PROBE];
    expect(modes, JSON.stringify(modes)).toEqual(
      modes.map((m) => ({
        fd: m.fd,
        family: m.family,
        ipv4: probe,
        ...(m.family === "IPv6" ? { ipv6: probe } : {}),
      })),
    );
    expect(modes.map((m) => m.family).sort()).toEqual(
      hasIPv6Loopback ? ["IPv4", "IPv4", "IPv4", "IPv6"] : ["IPv4", "IPv4", "IPv4"],
    );
  });
});
