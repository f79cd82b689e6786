// A UDP relay on loopback that delays every datagram by a fixed time each
// way: a long path between a client and rtcd, without touching the host's
// network (no qdisc on lo, which every other test shares). rtcd announces
// the relay's port (ice_host_port_override), so a client reaches rtcd only
// through it. One upstream socket per client address, as a NAT keeps one
// mapping per flow, so rtcd tells the clients apart.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

export class LatencyRelay {
  private readonly front: Socket;
  private readonly target: { address: string; port: number };
  private readonly delayMs: number;
  private readonly flows = new Map<string, Socket>();
  private closed = false;

  private constructor(front: Socket, target: { address: string; port: number }, delayMs: number) {
    this.front = front;
    this.target = target;
    this.delayMs = delayMs;
    front.on("message", (msg, from) => this.fromClient(msg, from));
  }

  static async start(target: { address: string; port: number }, delayMs: number): Promise<LatencyRelay> {
    const front = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      front.once("error", reject);
      front.bind(0, "127.0.0.1", () => resolve());
    });
    return new LatencyRelay(front, target, delayMs);
  }

  /** How many client addresses (ICE flows) have sent through the relay. */
  get clients(): number {
    return this.flows.size;
  }

  get port(): number {
    return this.front.address().port;
  }

  private fromClient(msg: Buffer, from: RemoteInfo): void {
    const key = `${from.address}:${from.port}`;
    let up = this.flows.get(key);
    if (!up) {
      const sock = (up = createSocket("udp4"));
      sock.bind(0, "127.0.0.1");
      // rtcd's answers go back to this client, delayed the same.
      sock.on("message", (back) => this.later(() => this.front.send(back, from.port, from.address)));
      this.flows.set(key, sock);
    }
    const sock = up;
    this.later(() => sock.send(msg, this.target.port, this.target.address));
  }

  // The delay is the path's propagation time, emulated: a timer per datagram
  // is what the relay is for, not a wait in a test.
  private later(fn: () => void): void {
    setTimeout(() => {
      if (!this.closed) fn();
    }, this.delayMs).unref();
  }

  close(): void {
    this.closed = true;
    for (const s of this.flows.values()) s.close();
    this.flows.clear();
    this.front.close();
  }
}
