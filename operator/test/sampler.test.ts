// What the sampler reads from rtcd's own endpoints: the sessions gauge summed
// over its labels, the CPU budget it divides cpu_load by, and where it asks.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cpuBudget, podIPTarget, Sampler, sumMetric, templateTarget } from "../src/autoscale/sampler.ts";

const pod = (p: Partial<V1Pod>): V1Pod => ({ metadata: { name: "r-1", namespace: "ns" }, ...p });

describe("sampler", () => {
  it("sums rtcd_rtc_sessions_total over every groupID, and only that metric", () => {
    const text = [
      "# HELP rtcd_rtc_sessions_total Total number of active RTC sessions",
      "# TYPE rtcd_rtc_sessions_total gauge",
      'rtcd_rtc_sessions_total{groupID="a"} 3',
      'rtcd_rtc_sessions_total{groupID="b"} 4',
      'rtcd_rtc_sessions_total_other{groupID="b"} 100',
      "rtcd_rtc_sessions_totalx 100",
    ].join("\n");
    expect(sumMetric(text, "rtcd_rtc_sessions_total")).toBe(7);
    // No series yet (no session ever joined): the gauge is absent, not unknown.
    expect(sumMetric("# TYPE rtcd_rtc_sessions_total gauge\n", "rtcd_rtc_sessions_total")).toBeUndefined();
    expect(sumMetric("rtcd_rtc_sessions_total 2 1700000000000\n", "rtcd_rtc_sessions_total")).toBe(2);
  });

  it("reads the CPU budget from the rtcd container's limit", () => {
    const spec = (cpu?: string) => ({
      containers: [{ name: "rtcd", resources: cpu ? { limits: { cpu } } : {} }],
    });
    expect(cpuBudget(pod({ spec: spec("1500m") }))).toBe(1.5);
    expect(cpuBudget(pod({ spec: spec("2") }))).toBe(2);
    expect(cpuBudget(pod({ spec: spec() }))).toBeUndefined();
  });

  it("asks the pod IP on spec.apiPort, or where a template says", () => {
    const p = pod({ status: { podIP: "10.0.0.7" } });
    expect(podIPTarget(p, 8045, false)).toBe("http://10.0.0.7:8045");
    expect(podIPTarget(pod({ status: { podIP: "fd00::7" } }), 8045, true)).toBe("https://[fd00::7]:8045");
    expect(podIPTarget(pod({}), 8045, false)).toBeUndefined();
    expect(templateTarget("http://127.0.0.1:9000/{namespace}/{pod}/")(p, 8045, false)).toBe(
      "http://127.0.0.1:9000/ns/r-1",
    );
  });

  it("takes the CPU from our rtcd_system_cpu_load gauge, /system's cpu_load only without it", async () => {
    // Ours: /system answers a placement signal (here a draining pod's
    // highest load), the gauge the plain sample. Mattermost's: /system only.
    let gauge = true;
    const srv = createServer((req, res) => {
      if (req.url === "/system") res.end(JSON.stringify({ cpu_load: gauge ? Number.MAX_VALUE : 2 }));
      else
        res.end(
          `rtcd_rtc_sessions_total{groupID="a"} 1\n` +
            (gauge ? 'rtcd_system_cpu_load 1\nrtcd_calls{groupID="a"} 1\n' : ""),
        );
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as AddressInfo).port;
    try {
      const sampler = new Sampler({ resolve: () => `http://127.0.0.1:${port}` });
      const p = pod({
        spec: { containers: [{ name: "rtcd", resources: { limits: { cpu: "2" } } }] },
        status: { phase: "Running", podIP: "10.0.0.7", conditions: [{ type: "Ready", status: "True" }] },
      });
      // load 1 on a 2-CPU budget: half idle, 50 %.
      expect((await sampler.sample([p], 8045, false))[0]).toMatchObject({
        cpuPercent: 50,
        sessions: 1,
        calls: 1,
      });
      gauge = false;
      // load 2 on 2 CPUs: a quarter idle, 75 %.
      // Mattermost's rtcd: no call count at all.
      const theirs = (await sampler.sample([p], 8045, false))[0]!;
      expect(theirs).toMatchObject({ cpuPercent: 75, sessions: 1 });
      expect(theirs.calls).toBeUndefined();
    } finally {
      srv.close();
    }
  });
});
