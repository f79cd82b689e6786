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

  // `own` counts only when its budget is below the host's CPUs (a quota):
  // without one the host's idle time already excludes what we use, and our
  // own figure would add only its measuring skew (the workers' CPU arrives
  // up to a second late, in lumps), which read a host as saturated mid-burst.
  constructor(
    read: () => number | undefined = readIdleSeconds,
    own?: OwnCPU,
    hostCPUs: number = availableParallelism(),
  ) {
    this.read = read;
    this.own = own && own.budget < hostCPUs ? own : undefined;
  }

  // On whole intervals of the wall clock (12:00:01.000, 12:00:02.000, ...),
  // not a second after start: rtcds on one host then sample the same
  // interval and read the same host load. Out of phase, a burst's own CPU
  // fell inside one's window and not another's (0.69 against 100+ on one
  // machine), and the one that happened to read low took most of the burst.
  start(intervalMs = 1000): void {
    // The first reading now, so the first load exists at the next whole
    // interval (at most one interval from start) rather than after two.
    this.sample(performance.now());
    const next = () => {
      this.timer = setTimeout(
        () => {
          this.sample(performance.now());
          next();
        },
        intervalMs - (Date.now() % intervalMs),
      );
      this.timer.unref();
    };
    next();
  }

  /** A load has been computed (two readings); until then `load` is 0, which is no measurement. */
  get measured(): boolean {
    return this.computed;
  }
  private computed = false;

  sample(nowMs: number): void {
    const idle = this.read();
    if (idle === undefined) return;
    const own = this.own?.seconds() ?? 0;
    if (this.prev) {
      const elapsed = (nowMs - this.prev.at) / 1000;
      let idleDiff = idle - this.prev.idle;
      if (this.own) idleDiff = Math.min(idleDiff, this.own.budget * elapsed - (own - this.prev.own));
      this.load = idleDiff > 0 ? Math.min(MAX_LOAD, elapsed / idleDiff) : MAX_LOAD;
      this.computed = true;
    }
    this.prev = { idle, at: nowMs, own };
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
