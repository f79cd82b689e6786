// Reads rtcd pods' own HTTP endpoints (/metrics, /system): one TLS agent, one
// timeout and one bound on requests in flight for every reader in the
// operator (the autoscaler's sampler, the pod-event watcher), so that a
// thousand instances never mean a thousand requests and connection pools at
// once, whichever part of the operator asks.
import { Agent, fetch } from "undici";
import { Gate } from "./gate.ts";

export interface PodHttpOptions {
  /** Per request, connection included (default 2000 ms). */
  timeoutMs?: number;
  /** Requests in flight at once, all readers together (default 16). */
  concurrency?: number;
}

export class PodHttp {
  private readonly timeoutMs: number;
  private readonly gate: Gate;
  // Pods present certificates for their Service names, not their IPs; only
  // counters are read and nothing is sent, so the name is not checked.
  private readonly tlsAgent = new Agent({ connect: { rejectUnauthorized: false } });

  constructor(opts: PodHttpOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.gate = new Gate(opts.concurrency ?? 16);
  }

  /** The body of a 2xx answer, in turn with every other read; undefined if the pod did not give one. */
  get(url: string, tls: boolean): Promise<string | undefined> {
    return this.gate.run(() => this.read(url, tls));
  }

  /** The same, at once, ahead of the queue: for what cannot wait behind routine reads. */
  getNow(url: string, tls: boolean): Promise<string | undefined> {
    return this.read(url, tls);
  }

  private async read(url: string, tls: boolean): Promise<string | undefined> {
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(tls ? { dispatcher: this.tlsAgent } : {}),
      });
      const text = await res.text();
      return res.ok ? text : undefined;
    } catch {
      // Unreachable, slow or reset: nothing learnt; the next read may tell.
      return undefined;
    }
  }
}
