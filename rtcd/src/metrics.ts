// Prometheus metrics with rtcd's names, labels, types and buckets: the
// official dashboards query these. The media plane fills the RTP/RTC ones.
// Beyond rtcd: rtcd_draining, rtcd_calls, rtcd_joins_refused_total,
// rtcd_limit_refusals_total, rtcd_media_worker_deaths_total,
// rtcd_cpu_seconds_total and rtcd_cpu_budget_cores (the dashboard and the
// alerts in charts/mattermost-rtcd/files/monitoring use them).
import { readFileSync } from "node:fs";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { OwnCPU } from "./system.ts";

// Every value of rtcd_limit_refusals_total's label.
export const LIMITS = [
  "auth_source_rate",
  "auth_global_rate",
  "auth_busy",
  "sessions_per_client",
  "sessions_per_call",
  "ws_connections_per_client",
  "registrations",
  "producers_per_session",
  "signal_queue",
  "signal_rate",
  "calls_dc_rate",
] as const;
export type Limit = (typeof LIMITS)[number];

// Every value of rtcd_rtc_errors_total's type label: rtcd's (ice, rtp,
// signaling, signaling_lock_timeout, track) and ours (codec, dtls, worker).
export const RTC_ERROR_TYPES = [
  "codec",
  "dtls",
  "ice",
  "rtp",
  "signaling",
  "signaling_lock_timeout",
  "track",
  "worker",
] as const;
export type RtcErrorType = (typeof RTC_ERROR_TYPES)[number];

const LATENCY = [0.001, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.3, 0.4, 0.5, 0.75, 1];
const LOSS = [0.001, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1];

export class Metrics {
  readonly registry = new Registry();
  readonly rtpTracks;
  readonly rtpTrackWrites;
  readonly rtcSessions;
  readonly rtcConnStates;
  private readonly rtcErrors;
  readonly rtcConnectionTime;
  readonly rtcDCOpenTime;
  readonly rtcSignalingLockGrabTime;
  readonly rtcSignalingLockLockedTime;
  readonly rtcClientLoss;
  readonly rtcClientRTT;
  readonly rtcClientJitter;
  readonly wsConnections;
  readonly wsMessages;
  readonly draining;
  // Where rtcd_system_cpu_load reads the sample (service.ts sets it).
  cpuLoadSource: () => number = () => 0;
  readonly calls;
  readonly joinsRefused;
  readonly limitRefusals;
  readonly mediaWorkerDeaths;

  private readonly errorGroups = new Set<string>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const gauge = (name: string, help: string, labelNames: string[]) =>
      new Gauge({ name, help, labelNames, registers });
    const counter = (name: string, help: string, labelNames: string[]) =>
      new Counter({ name, help, labelNames, registers });
    const histogram = (name: string, help: string, labelNames: string[], buckets?: number[]) =>
      new Histogram({ name, help, labelNames, registers, ...(buckets ? { buckets } : {}) });

    this.rtpTracks = gauge("rtcd_rtc_rtp_tracks_total", "Total number of active RTP tracks", [
      "groupID",
      "direction",
      "type",
    ]);
    this.rtpTrackWrites = histogram(
      "rtcd_rtc_rtp_tracks_writes_time",
      "Time taken to write to RTP tracks",
      ["groupID", "type"],
      LATENCY,
    );
    this.rtcSessions = gauge("rtcd_rtc_sessions_total", "Total number of active RTC sessions", ["groupID"]);
    this.rtcConnStates = counter(
      "rtcd_rtc_conn_states_total",
      "Total number of RTC connection state changes",
      ["type"],
    );
    this.rtcErrors = counter("rtcd_rtc_errors_total", "Total number of RTC related errors", [
      "groupID",
      "type",
    ]);
    this.wsConnections = gauge("rtcd_ws_connections_total", "Total number of active WebSocket sessions", [
      "clientID",
    ]);
    this.wsMessages = counter("rtcd_ws_messages_total", "Total number of sent/received WebSocket messages", [
      "clientID",
      "type",
      "direction",
    ]);
    // prom-client's default buckets are client_golang's DefBuckets, which rtcd uses here.
    this.rtcConnectionTime = histogram("rtcd_rtc_connection_time", "Time taken to establish the connection", [
      "groupID",
    ]);
    this.rtcDCOpenTime = histogram("rtcd_rtc_dc_open_time", "Time taken to open the data channel", [
      "groupID",
    ]);
    this.rtcSignalingLockGrabTime = histogram(
      "rtcd_rtc_signaling_lock_grab_time",
      "Time taken to acquire the signaling lock",
      ["groupID"],
    );
    this.rtcSignalingLockLockedTime = histogram(
      "rtcd_rtc_signaling_lock_locked_time",
      "Time the signaling lock was held",
      ["groupID"],
    );
    this.rtcClientLoss = histogram("rtcd_rtc_client_loss_rate", "Client loss rate", ["groupID"], LOSS);
    this.rtcClientRTT = histogram("rtcd_rtc_client_rtt", "Client round trip time", ["groupID"], LATENCY);
    this.rtcClientJitter = histogram("rtcd_rtc_client_jitter", "Client latency jitter", ["groupID"], LATENCY);

    this.draining = gauge("rtcd_draining", "1 while the process drains after SIGTERM (not in rtcd)", []);
    this.draining.set(0);
    // Calls, not sessions: a draining pod's remaining calls are what its
    // termination waits for.
    this.calls = gauge("rtcd_calls", "Calls in progress (not in rtcd)", ["groupID"]);
    this.joinsRefused = counter(
      "rtcd_joins_refused_total",
      "Joins refused, e.g. new calls while draining (not in rtcd)",
      ["groupID", "reason"],
    );

    // One label, from a fixed set (LIMITS), whatever the caller sends: no
    // client, call or session IDs, so hostile input cannot grow it.
    this.limitRefusals = counter(
      "rtcd_limit_refusals_total",
      "Requests refused by a limit or quota, by limit (not in rtcd)",
      ["limit"],
    );
    for (const limit of LIMITS) this.limitRefusals.inc({ limit }, 0);
    // No labels: a worker's pid or index would only say which one, the log
    // says that (media: mediasoup worker died).
    this.mediaWorkerDeaths = counter(
      "rtcd_media_worker_deaths_total",
      "mediasoup worker processes that died (not in rtcd)",
      [],
    );
    this.mediaWorkerDeaths.inc(0);
    // The CPU sample alone: /system's cpu_load is a placement signal (recent
    // admissions and a jitter blended in, the highest load while draining;
    // placement-load.ts), so the operator's autoscaler reads the load here.
    const cpuLoad = (): number => this.cpuLoadSource();
    new Gauge({
      name: "rtcd_system_cpu_load",
      help: "The sampled CPU load on rtcd's /system scale (elapsed over idle CPU-seconds of the CPU budget), without placement adjustments (not in rtcd)",
      registers,
      collect() {
        this.set(cpuLoad());
      },
    });

    if (opts.processMetrics ?? true) {
      // rtcd_process_* as client_golang's process collector names them, plus
      // prom-client's own rtcd_nodejs_* runtime metrics.
      collectDefaultMetrics({ register: this.registry, prefix: "rtcd_" });
      new Gauge({
        name: "rtcd_process_virtual_memory_max_bytes",
        help: "Maximum amount of virtual memory available in bytes.",
        registers,
        collect() {
          this.set(addressSpaceLimit());
        },
      });
    }
  }

  // rtcd's own CPU (process and media workers) and its budget, the two
  // numbers /system's cpu_load weighs against the host's idle time: their
  // ratio is how full this pod is, whatever the node's other load.
  // An RTC error of `type` in `groupID` (a client's sessions).
  rtcError(groupID: string, type: RtcErrorType): void {
    this.rtcErrors.inc({ groupID, type });
  }

  // A group's error counters start at 0 for every type when its first
  // session joins: rtcd's appear only once an error happens, so rate() and
  // the alerts have no series to work on until then. Groups are registered
  // Mattermost clients (bounded by the registration limit).
  groupSeen(groupID: string): void {
    if (this.errorGroups.has(groupID)) return;
    this.errorGroups.add(groupID);
    for (const type of RTC_ERROR_TYPES) this.rtcErrors.inc({ groupID, type }, 0);
  }

  watchCPU(own: OwnCPU): void {
    const registers = [this.registry];
    new Counter({
      name: "rtcd_cpu_seconds_total",
      help: "CPU seconds used by rtcd and its media workers (not in rtcd)",
      registers,
      collect() {
        this.reset();
        this.inc(own.seconds());
      },
    });
    new Gauge({
      name: "rtcd_cpu_budget_cores",
      help: "CPUs rtcd may use: its cgroup CPU quota, else the CPUs available (not in rtcd)",
      registers,
    }).set(own.budget);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

// RLIMIT_AS from /proc/self/limits, as client_golang reports it
// ("unlimited" is the largest uint64).
function addressSpaceLimit(): number {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max address space"));
    const soft = line?.slice(26).trim().split(/\s+/)[0];
    return soft === undefined || soft === "unlimited" ? 18446744073709552000 : Number(soft);
  } catch {
    return 18446744073709552000;
  }
}
