// Operator metrics. Names follow controller-runtime's, so dashboards and alerts
// written for Go operators work unchanged.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { AutoscalerMetricsSink } from "../autoscale/autoscaler.ts";
import type { MediaProbeMetricsSink } from "../probe/prober.ts";

export interface OperatorMetrics {
  registry: Registry;
  reconcileTotal: Counter<"controller" | "result">;
  reconcileErrors: Counter<"controller">;
  reconcileTime: Histogram<"controller">;
  queueDepth: Gauge<"name">;
  queueAdds: Counter<"name">;
  queueLatency: Histogram<"name">;
  queueRetries: Counter<"name">;
  leader: Gauge<"name">;
  apiRequests: Counter<"verb" | "resource" | "code">;
  autoscaler: AutoscalerMetricsSink;
  mediaProbe: MediaProbeMetricsSink;
}

type InstanceLabels = "namespace" | "name";

export function createMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
  return {
    registry,
    reconcileTotal: new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller",
      labelNames: ["controller", "result"],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller",
      labelNames: ["controller"],
      registers: [registry],
    }),
    reconcileTime: new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"],
      buckets,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "workqueue_depth",
      help: "Current depth of workqueue",
      labelNames: ["name"],
      registers: [registry],
    }),
    queueAdds: new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by workqueue",
      labelNames: ["name"],
      registers: [registry],
    }),
    queueLatency: new Histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in workqueue before being requested",
      labelNames: ["name"],
      buckets,
      registers: [registry],
    }),
    queueRetries: new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames: ["name"],
      registers: [registry],
    }),
    leader: new Gauge({
      name: "leader_election_master_status",
      help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master",
      labelNames: ["name"],
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: "rtcd_operator_api_requests_total",
      help: "Requests the operator made to the Kubernetes API, by verb and resource",
      labelNames: ["verb", "resource", "code"],
      registers: [registry],
    }),
    autoscaler: autoscalerMetrics(registry),
    mediaProbe: mediaProbeMetrics(registry),
  };
}

/**
 * Every series name the operator's /metrics can show, histograms with their
 * _bucket, _sum and _count: what a dashboard or an alert may query. Read off
 * a fresh createMetrics(), so it cannot drift from what is served.
 */
export async function exportedSeriesNames(): Promise<string[]> {
  const names = new Set<string>();
  for (const m of await createMetrics().registry.getMetricsAsJSON()) {
    names.add(m.name);
    // prom-client types `type` as its enum; the value is the exposition name.
    if (String(m.type) === "histogram")
      for (const s of ["_bucket", "_sum", "_count"]) names.add(`${m.name}${s}`);
  }
  return [...names].sort();
}

/** The autoscaler's decisions and the load that drove them, per MattermostRTCD. */
function autoscalerMetrics(registry: Registry): AutoscalerMetricsSink {
  const gauge = (name: string, help: string) =>
    new Gauge<InstanceLabels>({ name, help, labelNames: ["namespace", "name"], registers: [registry] });
  const desired = gauge("rtcd_operator_autoscaler_desired_replicas", "Replicas the autoscaler asks for");
  const recommended = gauge(
    "rtcd_operator_autoscaler_recommended_replicas",
    "Replicas the load alone asks for, before the scale-down window",
  );
  const load = gauge(
    "rtcd_operator_autoscaler_load_percent",
    "Load against target (the larger of CPU and sessions), percent",
  );
  const cpu = gauge(
    "rtcd_operator_autoscaler_cpu_percent",
    "Mean CPU use of the sampled pods, percent of limit",
  );
  const sessions = gauge("rtcd_operator_autoscaler_sessions", "RTC sessions on the ready pods");
  const headroom = gauge(
    "rtcd_operator_autoscaler_headroom_sessions",
    "Sessions the ready pods can still take at target",
  );
  const ready = gauge("rtcd_operator_autoscaler_ready_pods", "Ready pods taking new calls");
  const draining = gauge("rtcd_operator_autoscaler_draining_pods", "Pods draining their calls");
  const all = [desired, recommended, load, cpu, sessions, headroom, ready, draining];
  return {
    decided(namespace, name, d) {
      const l = { namespace, name };
      desired.set(l, d.desired);
      recommended.set(l, d.recommended);
      sessions.set(l, d.load.sessions);
      ready.set(l, d.load.readyPods);
      draining.set(l, d.load.drainingPods);
      // Unknown is absent, not 0: a dashboard must not read "idle" from "not measured".
      for (const [g, v] of [
        [load, d.load.loadPercent],
        [cpu, d.load.cpuPercent],
        [headroom, d.load.headroomSessions],
      ] as const) {
        if (v === undefined) g.remove(l);
        else g.set(l, v);
      }
    },
    forget(namespace, name) {
      for (const g of all) g.remove({ namespace, name });
    },
  };
}

/**
 * The synthetic call's result per pod and transport (probe/prober.ts): two
 * gauges per pod and transport, and the distribution of call times for the
 * whole fleet. A histogram per instance was 24 series each, 90 % of
 * /metrics at 1000 instances (2.6 MB rendered on every scrape), for a
 * distribution of a handful of calls per instance and window.
 */
function mediaProbeMetrics(registry: Registry): MediaProbeMetricsSink {
  const labelNames = ["namespace", "name", "pod", "transport"] as const;
  const success = new Gauge({
    name: "rtcd_operator_media_probe_success",
    help: "1 when the operator's last synthetic call on the pod carried audio both ways over the transport, 0 when it did not",
    labelNames,
    registers: [registry],
  });
  const last = new Gauge({
    name: "rtcd_operator_media_probe_last_duration_seconds",
    help: "Time of the operator's last synthetic call on the pod over the transport, from join to audio both ways (or the timeout)",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "rtcd_operator_media_probe_duration_seconds",
    help: "Time of the synthetic calls of every instance, from join to audio both ways (or the timeout), per transport",
    labelNames: ["transport"],
    buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30],
    registers: [registry],
  });
  return {
    observed(namespace, name, pod, results) {
      for (const r of results) {
        const labels = { namespace, name, pod, transport: r.transport };
        success.set(labels, r.ok ? 1 : 0);
        last.set(labels, r.durationMs / 1000);
        duration.observe({ transport: r.transport }, r.durationMs / 1000);
      }
    },
    forgetPod(namespace, name, pod) {
      for (const transport of ["udp", "tcp"]) {
        success.remove({ namespace, name, pod, transport });
        last.remove({ namespace, name, pod, transport });
      }
    },
  };
}
