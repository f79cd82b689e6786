// Operator metrics. Names follow controller-runtime's, so dashboards and alerts
// written for Go operators work unchanged.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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
}

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
  };
}
