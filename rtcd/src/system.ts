// /system's cpu_load, on rtcd's scale because the plugin compares it across
// hosts to place each new call: once a second,
// load = elapsed seconds / idle CPU-seconds summed over all CPUs (from
// /proc/stat, USER_HZ = 100). It is 0 until two samples exist.
//
// Beyond rtcd: the host's idle time says nothing about a container's CPU
// limit. Given our own CPU use (this process plus the mediasoup workers) and
// our CPU budget (the cgroup quota, else the CPUs we may run on), the idle
// time used is the smaller of the host's and what is left of our budget, so
// a pod at its limit reports itself loaded even on an idle node.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

const USER_HZ = 100;
// rtcd divides by zero on a fully busy host and then cannot encode +Inf
// (the response is empty); we report a large finite load instead.
export const MAX_LOAD = 1e6;

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

// CPUs this process may use: the cgroup's CPU quota (v2 cpu.max, v1
// cfs_quota_us/cfs_period_us) when one is set, else the CPUs available.
export function cpuBudget(root = "/sys/fs/cgroup"): number {
  const cpus = availableParallelism();
  const read = (f: string) => {
    try {
      return readFileSync(`${root}/${f}`, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  let quota: number | undefined;
  const v2 = read("cpu.max")?.split(/\s+/);
  if (v2 && v2[0] !== "max" && v2.length === 2) quota = Number(v2[0]) / Number(v2[1]);
  else {
    const q = Number(read("cpu/cpu.cfs_quota_us"));
    const p = Number(read("cpu/cpu.cfs_period_us"));
    if (q > 0 && p > 0) quota = q / p;
  }
  return quota && Number.isFinite(quota) && quota > 0 ? Math.min(quota, cpus) : cpus;
}

export interface OwnCPU {
  // CPU seconds used so far by rtcd (process and media workers).
  seconds(): number;
  // CPUs rtcd may use.
  budget: number;
}

export class CPULoadSampler {
  load = 0;
  private prev: { idle: number; at: number; own: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  private readonly read: () => number | undefined;
  private readonly own: OwnCPU | undefined;

  constructor(read: () => number | undefined = readIdleSeconds, own?: OwnCPU) {
    this.read = read;
    this.own = own;
  }

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => this.sample(performance.now()), intervalMs);
    this.timer.unref();
  }

  sample(nowMs: number): void {
    const idle = this.read();
    if (idle === undefined) return;
    const own = this.own?.seconds() ?? 0;
    if (this.prev) {
      const elapsed = (nowMs - this.prev.at) / 1000;
      let idleDiff = idle - this.prev.idle;
      if (this.own) idleDiff = Math.min(idleDiff, this.own.budget * elapsed - (own - this.prev.own));
      this.load = idleDiff > 0 ? Math.min(MAX_LOAD, elapsed / idleDiff) : MAX_LOAD;
    }
    this.prev = { idle, at: nowMs, own };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
