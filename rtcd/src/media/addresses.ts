// Which addresses the WebRtcServer binds and which it announces as ICE
// candidates, from rtcd's keys: ice_address_udp/tcp (bind; empty = every
// local IPv4, loopback included, as rtcd gathers them), ice_host_override
// (an address or hostname for all, or "ext/int,..." per local address) and
// ice_host_port_override (a port for all, or "localIP/port,...").
import { networkInterfaces } from "node:os";

export interface ListenAddress {
  ip: string;
  announcedAddress?: string;
  announcedPort?: number;
}

export function localIPv4s(): string[] {
  const ips: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4") ips.push(a.address);
  // Loopback first: tests and same-host clients pair with it quickest.
  return [...new Set(ips)].sort((a, b) => Number(b.startsWith("127.")) - Number(a.startsWith("127.")));
}

export function listenAddresses(
  bindList: string,
  hostOverride: string,
  portOverride: string,
  locals: string[] = localIPv4s(),
): ListenAddress[] {
  const binds = bindList.trim() ? bindList.split(",").map((s) => s.trim()) : locals;
  const hostMap = new Map<string, string>();
  let hostAll: string | undefined;
  if (hostOverride.trim()) {
    if (hostOverride.includes("/")) {
      for (const pair of hostOverride.split(",")) {
        const [ext, int] = pair.trim().split("/");
        if (ext && int) hostMap.set(int, ext);
      }
    } else hostAll = hostOverride.trim();
  }
  const portMap = new Map<string, number>();
  let portAll: number | undefined;
  if (portOverride.trim()) {
    if (portOverride.includes("/")) {
      for (const pair of portOverride.split(",")) {
        const [ip, port] = pair.trim().split("/");
        if (ip && port) portMap.set(ip, Number(port));
      }
    } else portAll = Number(portOverride);
  }
  return binds.map((ip) => {
    const out: ListenAddress = { ip };
    // A single override applies to every non-loopback address; loopback
    // stays reachable as itself (rtcd keeps its loopback candidate too).
    const announced = hostMap.get(ip) ?? (ip.startsWith("127.") ? undefined : hostAll);
    if (announced) out.announcedAddress = announced;
    const port = portMap.get(ip) ?? (ip.startsWith("127.") ? undefined : portAll);
    if (port) out.announcedPort = port;
    return out;
  });
}

// mediasoup announces the port its socket listens on; it has no field for
// another one (TransportListenInfo has announcedAddress, no port). So the
// ports of ice_host_port_override are put into our SDP's candidates instead,
// looked up by what mediasoup does announce: protocol, address and port.
export type AnnouncedPorts = ReadonlyMap<string, number>;

export function candidateKey(protocol: string, address: string, port: number): string {
  return `${protocol} ${address} ${port}`;
}

export function announcedPorts(
  infos: readonly (ListenAddress & { protocol: string; port: number })[],
): AnnouncedPorts {
  const out = new Map<string, number>();
  for (const l of infos)
    if (l.announcedPort !== undefined && l.announcedPort !== l.port)
      out.set(candidateKey(l.protocol, l.announcedAddress ?? l.ip, l.port), l.announcedPort);
  return out;
}
