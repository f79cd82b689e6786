// A real Prometheus on loopback for a test: scrapes the given targets every
// second, with the labels the documented scrape config (docs/observability.md)
// and a ServiceMonitor (or, for the operator, the chart's PodMonitor) put on
// them, evaluates the given rule files, and answers queries through its HTTP
// API.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@mattermost-rtcd/e2e/cluster";
import { stringify } from "yaml";
import { prometheusBin } from "./prometheus-bin.ts";
import { tail } from "./procs.ts";
import { until } from "./wait.ts";

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RuleState {
  name: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
}

/** One scrape job of one target. */
export interface ScrapeTarget {
  job: string;
  target: string;
  labels: Record<string, string>;
  /** Keep the target's own labels where they clash with `labels` (a PodMonitor's honorLabels). */
  honorLabels?: boolean;
}

export class Prometheus {
  readonly url: string;
  readonly logFile: string;
  private readonly proc: ChildProcess;

  private constructor(url: string, proc: ChildProcess, logFile: string) {
    this.url = url;
    this.proc = proc;
    this.logFile = logFile;
  }

  static async start(
    opts: ScrapeTarget & {
      ruleFiles: string[];
      /** More jobs to scrape beside the first. */
      more?: ScrapeTarget[];
    },
  ): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), "prometheus-"));
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: opts.ruleFiles,
      scrape_configs: [opts, ...(opts.more ?? [])].map((t) => ({
        job_name: t.job,
        ...(t.honorLabels ? { honor_labels: true } : {}),
        static_configs: [{ targets: [t.target], labels: t.labels }],
      })),
    };
    writeFileSync(join(dir, "prometheus.yml"), stringify(config));
    const port = await freePort();
    const logFile = join(dir, "prometheus.log");
    const log = createWriteStream(logFile);
    const proc = spawn(
      prometheusBin("prometheus"),
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
    const p = new Prometheus(`http://127.0.0.1:${port}`, proc, logFile);
    await until(
      "prometheus ready",
      async () => {
        if (proc.exitCode !== null) throw new Error(`prometheus exited ${proc.exitCode}:\n${tail(logFile)}`);
        return fetch(`${p.url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        );
      },
      60_000,
      () => tail(logFile),
    );
    return p;
  }

  // An instant query; throws with Prometheus's error when it does not evaluate.
  async query(expr: string): Promise<Sample[]> {
    const r = await fetch(`${this.url}/api/v1/query`, {
      method: "POST",
      body: new URLSearchParams({ query: expr }),
    });
    const body = (await r.json()) as { status: string; error?: string; data?: { result: Sample[] } };
    if (body.status !== "success") throw new Error(`query failed: ${body.error ?? r.status}: ${expr}`);
    return body.data?.result ?? [];
  }

  /** A range query (times in seconds since the epoch); throws like query(). */
  async queryRange(
    expr: string,
    start: number,
    end: number,
    stepSeconds: number,
  ): Promise<{ metric: Record<string, string>; values: [number, string][] }[]> {
    const r = await fetch(`${this.url}/api/v1/query_range`, {
      method: "POST",
      body: new URLSearchParams({
        query: expr,
        start: String(start),
        end: String(end),
        step: String(stepSeconds),
      }),
    });
    const body = (await r.json()) as {
      status: string;
      error?: string;
      data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
    };
    if (body.status !== "success") throw new Error(`query_range failed: ${body.error ?? r.status}: ${expr}`);
    return body.data?.result ?? [];
  }

  async rules(): Promise<RuleState[]> {
    const r = await fetch(`${this.url}/api/v1/rules`);
    const body = (await r.json()) as { data: { groups: { rules: RuleState[] }[] } };
    return body.data.groups.flatMap((g) => g.rules);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once("exit", resolve));
    this.proc.kill("SIGTERM");
    await exited;
  }
}
