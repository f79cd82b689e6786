// The chart's monitoring objects: off by default; when on, the dashboard
// ConfigMap carries the sidecar's label and exactly files/monitoring/
// dashboard.json, and the PrometheusRule exactly files/monitoring/alerts.yaml
// (runbook links rewritten to where the user publishes them), in both modes.
// In operator mode, metrics.serviceMonitor also scrapes the operator (a
// PodMonitor), whose series the dashboard's operator row reads.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { chartDir } from "../../src/chart/paths.ts";
import { render, type K8sObject } from "../../src/chart/render.ts";

const dashboard: unknown = JSON.parse(
  readFileSync(join(chartDir, "files/monitoring/dashboard.json"), "utf8"),
);
const alertsText = readFileSync(join(chartDir, "files/monitoring/alerts.yaml"), "utf8");
const on = { metrics: { prometheusRule: { enabled: true } }, grafana: { dashboard: { enabled: true } } };

const find = (objs: K8sObject[], kind: string, suffix = "") =>
  objs.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix));

describe("monitoring objects", () => {
  test("off by default", () => {
    const objs = render({});
    expect(find(objs, "PrometheusRule")).toBeUndefined();
    expect(find(objs, "ConfigMap", "-dashboard")).toBeUndefined();
  });

  test.each([false, true])("on (operator mode %s): the dashboard and the rules, unchanged", (operator) => {
    const objs = render({ ...on, operator: { enabled: operator } });
    const cm = find(objs, "ConfigMap", "-dashboard");
    expect(cm?.metadata.labels?.["grafana_dashboard"]).toBe("1");
    const data = cm?.["data"] as Record<string, string>;
    expect(JSON.parse(data["mattermost-rtcd.json"]!)).toEqual(dashboard);
    const rule = find(objs, "PrometheusRule");
    expect(rule?.spec).toEqual(parse(alertsText));
  });

  test("runbookBaseURL turns each runbook_url into a link, labels and namespaces apply", () => {
    const objs = render({
      metrics: {
        prometheusRule: {
          enabled: true,
          runbookBaseURL: "https://wiki.example/rtcd/",
          labels: { release: "prom" },
          namespace: "monitoring",
        },
      },
      grafana: {
        dashboard: { enabled: true, namespace: "grafana", annotations: { grafana_folder: "Calls" } },
      },
    });
    const rule = find(objs, "PrometheusRule");
    expect(rule?.metadata.labels?.["release"]).toBe("prom");
    expect(rule?.metadata).toMatchObject({ namespace: "monitoring" });
    const urls = (rule?.spec.groups as { rules: { alert: string; annotations: Record<string, string> }[] }[])
      .flatMap((g) => g.rules)
      .map((r) => [r.alert, r.annotations["runbook_url"]]);
    expect(urls.length).toBeGreaterThan(0);
    for (const [alert, url] of urls) expect(url).toBe(`https://wiki.example/rtcd/${alert}.md`);
    const cm = find(objs, "ConfigMap", "-dashboard");
    expect(cm?.metadata).toMatchObject({ namespace: "grafana", annotations: { grafana_folder: "Calls" } });
  });

  describe("the operator's metrics (operator mode, metrics.serviceMonitor.enabled)", () => {
    const sm = {
      metrics: { serviceMonitor: { enabled: true, labels: { release: "prom" }, interval: "15s" } },
    };

    // As the operator renders its ServiceMonitor: only where the cluster serves the kind.
    const podMonitorAPI = { args: ["--api-versions", "monitoring.coreos.com/v1/PodMonitor"] };

    test("a PodMonitor scrapes the operator's metrics port, keeping its series' own namespace", () => {
      const objs = render({ ...sm, operator: { enabled: true } }, podMonitorAPI);
      const pm = find(objs, "PodMonitor", "-operator");
      expect(pm?.metadata.labels?.["release"]).toBe("prom");
      const deployment = find(objs, "Deployment", "-operator")!;
      const spec = pm?.spec as {
        selector: { matchLabels: Record<string, string> };
        podMetricsEndpoints: Record<string, unknown>[];
      };
      // It selects the operator's pods, and only those.
      const podLabels = (deployment.spec["template"] as { metadata: { labels: Record<string, string> } })
        .metadata.labels;
      expect(podLabels).toMatchObject(spec.selector.matchLabels);
      expect(deployment.spec["selector"]).toEqual({ matchLabels: spec.selector.matchLabels });
      // The autoscaler's and the probe's series carry the MattermostRTCD's
      // namespace: without honorLabels Prometheus would rename it
      // exported_namespace and the dashboard's $namespace would miss them.
      expect(spec.podMetricsEndpoints).toEqual([
        { port: "metrics", path: "/metrics", honorLabels: true, interval: "15s", scrapeTimeout: "10s" },
      ]);
      const ports = (
        deployment.spec["template"] as { spec: { containers: { ports: { name: string }[] }[] } }
      ).spec.containers[0]!.ports.map((x) => x.name);
      expect(ports).toContain("metrics");
    });

    test("none without serviceMonitor, nor in direct mode (there is no operator)", () => {
      expect(find(render({ operator: { enabled: true } }, podMonitorAPI), "PodMonitor")).toBeUndefined();
      expect(find(render(sm, podMonitorAPI), "PodMonitor")).toBeUndefined();
    });

    test("none where the cluster does not serve PodMonitor: the install does not fail (the operator only warns about its ServiceMonitor)", () => {
      const objs = render({ ...sm, operator: { enabled: true } });
      expect(find(objs, "PodMonitor")).toBeUndefined();
      expect(find(objs, "Deployment", "-operator")).toBeDefined();
    });
  });
});
