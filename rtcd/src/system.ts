// /system's cpu_load, computed exactly as rtcd does, because the plugin
// compares it across hosts to place each new call: once a second,
// load = elapsed seconds / idle CPU-seconds summed over all CPUs (from
// /proc/stat, USER_HZ = 100). It is 0 until two samples exist.
import { readFileSync } from "node:fs";

const USER_HZ = 100;
// rtcd divides by zero on a fully busy host and then cannot encode +Inf
// (the response is empty); we report a large finite load instead.
const MAX_LOAD = 1e6;

export function readIdleSeconds(stat = "/proc/stat"): number | undefined {
  try {
    const line = readFileSync(stat, "utf8").split("\n", 1)[0]!;
    const f = line.trim().split(/\s+/);
    if (f[0] !== "cpu" || f.length < 5) return undefined;
    return Number(f[4]) / USER_HZ;
  } catch {
    return undefined;
  }
}

export class CPULoadSampler {
  load = 0;
  private prev: { idle: number; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  private readonly read: () => number | undefined;

  constructor(read: () => number | undefined = readIdleSeconds) {
    this.read = read;
  }

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => this.sample(performance.now()), intervalMs);
    this.timer.unref();
  }

  sample(nowMs: number): void {
    const idle = this.read();
    if (idle === undefined) return;
    if (this.prev) {
      const elapsed = (nowMs - this.prev.at) / 1000;
      const idleDiff = idle - this.prev.idle;
      this.load = idleDiff > 0 ? Math.min(MAX_LOAD, elapsed / idleDiff) : MAX_LOAD;
    }
    this.prev = { idle, at: nowMs };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
