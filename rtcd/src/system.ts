// /system's cpu_load, on rtcd's scale because the plugin compares it across
// hosts to place each new call: once a second,
// load = elapsed seconds / idle CPU-seconds summed over all CPUs (from
// /proc/stat, USER_HZ = 100). It is 0 until two samples exist. Beyond
// rtcd: pinned to some CPUs, only their idle time counts (readIdleSeconds).
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

/**
 * Idle CPU-seconds so far: of the whole host (the "cpu" line), or, given
 * `cpus`, only of those CPUs (their "cpuN" lines). An rtcd pinned to some
 * CPUs (taskset, a cpuset, the kubelet's static CPU manager) can use only
 * their idle time: a neighbour saturating them leaves it nothing, however
 * idle the host's other CPUs are.
 */
export function readIdleSeconds(stat = "/proc/stat", cpus?: ReadonlySet<number>): number | undefined {
  try {
    const lines = readFileSync(stat, "utf8").split("\n");
    if (!cpus) {
      const f = lines[0]!.trim().split(/\s+/);
      if (f[0] !== "cpu" || f.length < 5) return undefined;
      return Number(f[4]) / USER_HZ;
    }
    let idle = 0;
    let found = 0;
    for (const line of lines) {
      const m = /^cpu(\d+)\s/.exec(line);
      if (!m || !cpus.has(Number(m[1]))) continue;
      const f = line.trim().split(/\s+/);
      if (f.length < 5) return undefined;
      idle += Number(f[4]);
      found++;
    }
    // A CPU we may use that /proc/stat does not list is offline: no idle
    // time to give. None of ours listed: no figure rather than a wrong one.
    return found > 0 ? idle / USER_HZ : undefined;
  } catch {
    return undefined;
  }
}

/** CPUs listed as "0-3,6,8-9" (the kernel's list format). */
export function parseCPUList(list: string): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of list.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    // Bounded: a list from the kernel names at most a few thousand CPUs.
    if (to < from || to - from > 65_536) return undefined;
    for (let c = from; c <= to; c++) out.add(c);
  }
  return out.size ? out : undefined;
}

/**
 * The CPUs this process may run on (its affinity, which a cpuset also
 * sets), when they are fewer than the host's; undefined when it may run on
 * all of them or the list cannot be read, so the host's own line is used.
 */
export function pinnedCPUs(status = "/proc/self/status", stat = "/proc/stat"): Set<number> | undefined {
  try {
    const line = readFileSync(status, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Cpus_allowed_list:"));
    const allowed = line ? parseCPUList(line.slice("Cpus_allowed_list:".length)) : undefined;
    if (!allowed) return undefined;
    const host = readFileSync(stat, "utf8")
      .split("\n")
      .filter((l) => /^cpu\d+\s/.test(l)).length;
    return allowed.size < host ? allowed : undefined;
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
    // The pinned CPUs are read at each sample: the kubelet's CPU manager
    // changes a running container's cpuset as exclusive CPUs come and go.
    read: () => number | undefined = () => readIdleSeconds("/proc/stat", pinnedCPUs()),
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
    this.intervalMs = intervalMs;
    // The first reading now, so the first load exists at the first whole
    // interval at least half an interval from start (0.5 to 1.5 intervals)
    // rather than after two.
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
  private intervalMs = 1000;

  sample(nowMs: number): void {
    // Under half an interval since the last reading that counted: /proc/stat
    // counts idle time in 10 ms ticks, so a window of a few ms reads 0 ticks
    // (1e6) or 1 (a low load) whatever the CPU did, and that figure would
    // stand for a whole second. It happens at start (the first reading is
    // taken at once, the first whole second may follow 5 ms later) and when
    // a timer fires twice around one whole second. The window then runs on
    // to the next reading, which keeps co-located rtcds on the same interval.
    if (this.prev && nowMs - this.prev.at < this.intervalMs / 2) return;
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
