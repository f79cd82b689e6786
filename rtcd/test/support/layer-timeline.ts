// What a simulcast test prints when a layer does not arrive: its own steps,
// the key frames a werift viewer received (width and time), and the
// server's layer decisions, the viewers' scores (their receiver reports) and
// the layers it forwarded, from its JSON log. Times are ms since `t0`.
import { readFileSync } from "node:fs";
import { vp8KeyframeWidth } from "./layers.ts";
import type { ReceivedPacket } from "./rtc-peer.ts";

const LAYER_MSGS = /simulcast|produc|consum|screen|layer/i;

export class LayerTimeline {
  readonly t0 = Date.now();
  private readonly steps: string[] = [];

  step(what: string): void {
    this.steps.push(`${this.since(Date.now())} test: ${what}`);
  }

  since(t: number): string {
    return `+${String(t - this.t0).padStart(6)} ms`;
  }

  /** Each change of key frame width at the viewer (not every key frame). */
  keyframes(packets: readonly ReceivedPacket[]): string[] {
    const out: string[] = [];
    let last: number | undefined;
    let count = 0;
    for (const p of packets) {
      const w = vp8KeyframeWidth(p.payload);
      if (w === undefined) continue;
      count++;
      if (w !== last) out.push(`${this.since(p.at)} werift viewer: key frame ${w} wide (#${count})`);
      last = w;
    }
    if (count === 0) out.push(`werift viewer: no key frame among ${packets.length} packets`);
    return out;
  }

  /** The server's lines about producers, consumers and layers. */
  serverLog(file: string): string[] {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      return [`(no server log: ${String(e)})`];
    }
    const out: string[] = [];
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const { ts, msg, ...rest } = JSON.parse(line) as { ts: string; msg: string; level?: string };
        if (!LAYER_MSGS.test(msg)) continue;
        delete rest.level;
        out.push(`${this.since(Date.parse(ts))} server: ${msg} ${JSON.stringify(rest)}`);
      } catch {
        // a line cut short by the process ending
      }
    }
    return out;
  }

  /** Everything above, in time order. */
  report(packets: readonly ReceivedPacket[], serverLog: string, extra: string[] = []): string {
    const lines = [...this.steps, ...this.keyframes(packets), ...this.serverLog(serverLog)];
    lines.sort(
      (a, b) => Number(/[+](\s*-?\d+)/.exec(a)?.[1] ?? 0) - Number(/[+](\s*-?\d+)/.exec(b)?.[1] ?? 0),
    );
    return ["timeline:", ...lines, ...extra].join("\n");
  }
}
