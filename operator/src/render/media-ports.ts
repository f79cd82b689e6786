// The RTC ports of each media worker, for the pod, the RTC Service, rtcd's
// configuration and the status. This project's rtcd runs
// spec.rtcd.mediaWorkers workers and worker i listens on RTC port + i (UDP
// and TCP): the kernel cannot steer a client's packets to the worker that
// holds its transport, so every worker's port must reach the pod.
import type { DefaultedMattermostRTCD, MediaPortsStatus } from "../api/index.ts";
import { rtcServiceName } from "./names.ts";

export interface WorkerPorts {
  worker: number;
  /** Container port names (at most 15 characters: "rtc-udp-63"). Worker 0 keeps the one-port names. */
  udpName: string;
  tcpName: string;
  /** Where rtcd listens in the pod (RTCD_RTC_ICEPORTUDP/TCP + worker). */
  containerPort: number;
  /** hostPort (HostNetwork and HostPort modes), equal to the container port. */
  hostPort?: number;
  /** The RTC Service's port (NodePort and LoadBalancer modes). */
  servicePort: number;
  /** NodePort mode: the node port. */
  nodePort?: number;
  /** The port clients send media to, which rtcd must advertise for this worker. */
  clientPort: number;
}

export function mediaWorkers(cr: DefaultedMattermostRTCD): number {
  return cr.spec.rtcd.mediaWorkers ?? 1;
}

/**
 * rtcd applies RTCD_RTC_ICEHOSTPORTOVERRIDE to every worker alike, so with
 * several workers behind node ports it cannot say "node port + i" for worker
 * i. Each worker then listens on its own node port instead (any port is free
 * in the pod's network namespace) and advertises the port it listens on. One
 * worker keeps the override, so that one-worker pods stay as they were (and
 * Mattermost's rtcd, which has one port only, keeps working).
 */
export function listensOnNodePorts(cr: DefaultedMattermostRTCD): boolean {
  const n = cr.spec.networking;
  return n.mode === "NodePort" && n.nodePort !== undefined && mediaWorkers(cr) > 1;
}

/** rtcd's base RTC port in the pod (RTCD_RTC_ICEPORTUDP and RTCD_RTC_ICEPORTTCP). */
export function listenPort(cr: DefaultedMattermostRTCD): number {
  return listensOnNodePorts(cr) ? cr.spec.networking.nodePort! : cr.spec.rtcPort;
}

export function workerPorts(cr: DefaultedMattermostRTCD): WorkerPorts[] {
  const s = cr.spec;
  const mode = s.networking.mode;
  const onHost = mode === "HostNetwork" || mode === "HostPort";
  const base = listenPort(cr);
  return Array.from({ length: mediaWorkers(cr) }, (_, i) => {
    const suffix = i === 0 ? "" : `-${i}`;
    const nodePort =
      mode === "NodePort" && s.networking.nodePort !== undefined ? s.networking.nodePort + i : undefined;
    return {
      worker: i,
      udpName: `rtc-udp${suffix}`,
      tcpName: `rtc-tcp${suffix}`,
      containerPort: base + i,
      hostPort: onHost ? base + i : undefined,
      servicePort: s.rtcPort + i,
      nodePort,
      clientPort: nodePort ?? s.rtcPort + i,
    };
  });
}

/** status.mediaPorts: what to open, and where. */
export function mediaPortsStatus(cr: DefaultedMattermostRTCD): MediaPortsStatus {
  const ports = workerPorts(cr).map((w) => ({ worker: w.worker, port: w.clientPort }));
  const first = ports[0]!.port;
  const last = ports[ports.length - 1]!.port;
  const range = first === last ? `${first}` : `${first}-${last}`;
  const lb = cr.spec.networking.mode === "LoadBalancer";
  const where = lb ? `the load balancer of Service ${rtcServiceName(cr)}` : "every node running rtcd";
  return { openOn: lb ? "LoadBalancer" : "Nodes", ports, summary: `UDP and TCP ${range} on ${where}` };
}
