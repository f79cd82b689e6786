#!/usr/bin/env node
// rtcd-operator: run the controller, or print what it would apply.
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { Command, InvalidArgumentError, Option } from "commander";
import { stringify, parseAllDocuments } from "yaml";
import {
  crd,
  applyDefaults,
  validateOffline,
  KIND,
  GROUP,
  VERSION,
  type MattermostRTCD,
} from "../api/index.ts";
import { render } from "../render/index.ts";
import { DEFAULT_CLUSTER_DOMAIN } from "../render/names.ts";
import { Manager } from "../controller/manager.ts";
import { KubeAccess } from "../kube/access.ts";
import { podAddressFromFile } from "../controller/registration.ts";
import { defaultRateLimiter } from "../controller/workqueue.ts";
import { templateTarget } from "../autoscale/sampler.ts";
import { parseBindAddress, serveMetrics, serveProbes } from "../controller/http.ts";
import { boundHeapGrowth } from "../util/heap.ts";
import { createLogger, isLevel, LEVELS, type Level } from "../util/log.ts";
import { VERSION_INFO } from "../version.ts";

const program = new Command("rtcd-operator")
  .description("Kubernetes operator for Mattermost Calls' rtcd (MattermostRTCD resources)")
  .version(VERSION_INFO.version, "--version");

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number >= 1");
  return n;
}

function dnsDomain(v: string): string {
  const d = v.replace(/\.$/, "");
  const label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  if (!d || d.length > 253 || !d.split(".").every((l) => label.test(l))) {
    throw new InvalidArgumentError('must be a DNS domain of lower-case labels, like "cluster.local"');
  }
  return d;
}

function duration(v: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(v);
  if (!m) throw new InvalidArgumentError('must be a duration like "30s", "10m" or "1h" ("0s" disables)');
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}

program
  .command("run")
  .description("run the controller")
  .option(
    "--kubeconfig <path>",
    "kubeconfig file (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)",
  )
  .option(
    "--namespace <ns>",
    "watch only this namespace (repeatable; default: all namespaces)",
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .option("--leader-elect", "use a Lease so that only one replica reconciles", false)
  .option(
    "--leader-election-namespace <ns>",
    "namespace of the Lease (default: $POD_NAMESPACE or the first --namespace)",
  )
  .option("--leader-election-id <name>", "name of the Lease", "mattermost-rtcd-operator")
  .option("--metrics-bind-address <addr>", 'where to serve /metrics ("0" disables)', ":8080")
  .option("--health-probe-bind-address <addr>", 'where to serve /healthz and /readyz ("0" disables)', ":8081")
  .option("--max-concurrent-reconciles <n>", "reconciles that may run at once", positiveInt, 4)
  .option(
    "--resync-period <duration>",
    "how often every resource is reconciled even without events",
    duration,
    600_000,
  )
  .option(
    "--cluster-domain <domain>",
    "the cluster's DNS domain, for the endpoint reported in status",
    dnsDomain,
    DEFAULT_CLUSTER_DOMAIN,
  )
  .option(
    "--retry-base-delay <duration>",
    "first retry delay of a failing reconcile (doubles per failure)",
    duration,
    defaultRateLimiter.baseDelayMs,
  )
  .option(
    "--retry-max-delay <duration>",
    "longest retry delay of a failing reconcile",
    duration,
    defaultRateLimiter.maxDelayMs,
  )
  .option(
    "--autoscale-interval <duration>",
    "how often the load of autoscaled instances is read from rtcd",
    duration,
    15_000,
  )
  .option(
    "--rtcd-url-template <template>",
    "where to read a pod's /system and /metrics, e.g. http://{podIP}:{port} (default) or a proxy URL with {namespace} and {pod}",
  )
  .addOption(new Option("--log-level <level>", "minimum log level").choices(LEVELS).default("info"))
  .addOption(
    // For tests on clusters whose pods run nothing (kwok): where each pod's rtcd API really is.
    new Option(
      "--testing-pod-address-file <file>",
      "JSON map of pod name to rtcd base URL used instead of the pod IP (tests only)",
    ).hideHelp(),
  )
  .action(async (opts: RunOptions) => {
    boundHeapGrowth();
    await run(opts);
  });

program
  .command("crds")
  .description("print the CustomResourceDefinitions as YAML")
  .action(() => {
    process.stdout.write(stringify(crd()));
  });

program
  .command("render")
  .description("print, offline, every object the operator would apply for the MattermostRTCDs in a file")
  .requiredOption(
    "-f, --filename <file>",
    'YAML file with one or more MattermostRTCD documents ("-" for stdin)',
  )
  .option("-n, --namespace <ns>", "namespace for resources that have none", "default")
  .option("--service-monitor", "render the ServiceMonitor as if its CRD were installed", false)
  .action((opts: { filename: string; namespace: string; serviceMonitor: boolean }) => {
    process.exitCode = renderCommand(opts);
  });

program
  .command("version")
  .description("print the version")
  .action(() => {
    process.stdout.write(JSON.stringify(VERSION_INFO) + "\n");
  });

interface RunOptions {
  kubeconfig?: string;
  namespace: string[];
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  maxConcurrentReconciles: number;
  resyncPeriod: number;
  clusterDomain: string;
  retryBaseDelay: number;
  retryMaxDelay: number;
  testingPodAddressFile?: string;
  autoscaleInterval: number;
  rtcdUrlTemplate?: string;
  logLevel: string;
}

async function run(opts: RunOptions): Promise<void> {
  const level: Level = isLevel(opts.logLevel) ? opts.logLevel : "info";
  const log = createLogger({ level }).child({ logger: "rtcd-operator" });
  const access = opts.kubeconfig ? KubeAccess.fromFile(opts.kubeconfig) : KubeAccess.fromDefault();
  const metricsAddr = parseBindAddress(opts.metricsBindAddress, "--metrics-bind-address");
  const probeAddr = parseBindAddress(opts.healthProbeBindAddress, "--health-probe-bind-address");
  const leNamespace = opts.leaderElectionNamespace ?? process.env.POD_NAMESPACE ?? opts.namespace[0];
  if (opts.leaderElect && !leNamespace) {
    throw new InvalidArgumentError(
      "--leader-elect needs --leader-election-namespace (or POD_NAMESPACE, or a --namespace)",
    );
  }
  const mgr = new Manager(
    access,
    {
      namespaces: opts.namespace,
      maxConcurrentReconciles: opts.maxConcurrentReconciles,
      resyncPeriodMs: opts.resyncPeriod,
      clusterDomain: opts.clusterDomain,
      podAddress: opts.testingPodAddressFile ? podAddressFromFile(opts.testingPodAddressFile) : undefined,
      autoscaleIntervalMs: Math.max(1000, opts.autoscaleInterval),
      ...(opts.rtcdUrlTemplate ? { rtcdTarget: templateTarget(opts.rtcdUrlTemplate) } : {}),
      rateLimiter: {
        ...defaultRateLimiter,
        baseDelayMs: opts.retryBaseDelay,
        maxDelayMs: Math.max(opts.retryMaxDelay, opts.retryBaseDelay),
      },
      leaderElection: opts.leaderElect ? { namespace: leNamespace!, name: opts.leaderElectionId } : undefined,
    },
    log,
  );
  const servers: Server[] = [];
  if (metricsAddr) servers.push(await serveMetrics(metricsAddr, mgr.metrics.registry));
  if (probeAddr) servers.push(await serveProbes(probeAddr, mgr));
  log.info("starting", {
    version: VERSION_INFO.version,
    namespaces: opts.namespace.length ? opts.namespace : "all",
    leaderElect: opts.leaderElect,
  });
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    mgr
      .stop()
      .then(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))))
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  await mgr.start();
}

function renderCommand(opts: { filename: string; namespace: string; serviceMonitor: boolean }): number {
  const text = readFileSync(opts.filename === "-" ? 0 : opts.filename, "utf8");
  const out: string[] = [];
  let failed = false;
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      process.stderr.write(`${opts.filename}: ${doc.errors[0]!.message}\n`);
      return 1;
    }
    const obj = doc.toJS() as MattermostRTCD | null;
    if (!obj) continue;
    if (obj.kind !== KIND || obj.apiVersion !== `${GROUP}/${VERSION}`) {
      process.stderr.write(
        `${opts.filename}: skipping ${obj.apiVersion ?? "?"} ${obj.kind ?? "?"} (not a ${KIND})\n`,
      );
      continue;
    }
    obj.metadata = { namespace: opts.namespace, ...obj.metadata };
    const cr = applyDefaults(obj);
    const errors = validateOffline(cr);
    if (errors.length) {
      for (const e of errors) process.stderr.write(`${cr.metadata?.name}: ${e}\n`);
      failed = true;
      continue;
    }
    const { objects, warnings } = render(cr, { serviceMonitorAvailable: opts.serviceMonitor });
    for (const w of warnings) process.stderr.write(`${cr.metadata?.name}: warning: ${w}\n`);
    // No owner references: the UID they need only exists once the CR is applied.
    for (const o of objects) out.push(stringify(o));
  }
  process.stdout.write(out.map((d) => "---\n" + d).join(""));
  return failed ? 1 : 0;
}

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`rtcd-operator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
