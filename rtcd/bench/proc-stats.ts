// Per-process numbers from /proc (Linux): CPU seconds, peak RSS, children,
// and the machine's busy time.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

// Child processes (the mediasoup workers) of a process.
export function children(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`))
    out.push(
      ...readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
    );
  return out;
}

// utime + stime of a process, in seconds.
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

// A memory field of /proc/PID/status (VmRSS, VmHWM, RssAnon, ...), in KiB;
// 0 when the kernel does not report it.
export function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

// Peak resident set size (VmHWM) of a process, in MiB.
export const peakRssMiB = (pid: number): number => statusKiB(pid, "VmHWM") / 1024;

// Resident set size (VmRSS) of a process, in MiB.
export const rssMiB = (pid: number): number => statusKiB(pid, "VmRSS") / 1024;

// Busy and total jiffies of the whole machine (all cores).
export function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

// UDP datagrams the kernel dropped because a socket's receive buffer was
// full (machine-wide, /proc/net/snmp RcvbufErrors): loss that happened
// before any process read the packet.
export function udpRcvbufErrors(): number {
  const lines = readFileSync("/proc/net/snmp", "utf8")
    .split("\n")
    .filter((l) => l.startsWith("Udp:"));
  const names = lines[0]?.split(/\s+/) ?? [];
  const vals = lines[1]?.split(/\s+/) ?? [];
  return Number(vals[names.indexOf("RcvbufErrors")] ?? NaN);
}

// Datagrams dropped on arrival (full receive buffer) by the UDP sockets
// the given processes hold, from the "drops" column of /proc/net/udp{,6}:
// tells whether loss happened at the SFU's sockets or the generator's.
export function udpDrops(pids: number[]): number {
  const drops = new Map<string, number>(); // socket inode -> drops
  for (const f of ["/proc/net/udp", "/proc/net/udp6"]) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length >= 13) drops.set(cols[9]!, Number(cols[12]));
    }
  }
  let total = 0;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) total += drops.get(m[1]!) ?? 0;
    }
  }
  return total;
}
