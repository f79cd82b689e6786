import { describe, expect, it } from "vitest";
import type { V1DaemonSet, V1Deployment, V1Pod, V1Service } from "@kubernetes/client-node";
import {
  GROUP,
  KIND,
  VERSION,
  applyDefaults,
  type Condition,
  type MattermostRTCD,
  type MattermostRTCDSpec,
  type MattermostRTCDStatus,
} from "../src/api/index.ts";
import { computeStatus, statusEqual } from "../src/status/compute.ts";

const T0 = new Date("2026-01-01T00:00:00.000Z");
const T1 = new Date("2026-01-01T00:05:00.000Z");

function cr(spec: MattermostRTCDSpec = {}, status?: MattermostRTCDStatus): MattermostRTCD {
  return applyDefaults({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    metadata: { name: "rtcd", namespace: "calls", uid: "u", generation: 3 },
    spec,
    status,
  });
}

function deploy(
  s: Partial<NonNullable<V1Deployment["status"]>>,
  opts: { replicas?: number; generation?: number } = {},
): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "rtcd", generation: opts.generation ?? 7 },
    spec: { replicas: opts.replicas ?? 2, selector: {}, template: {} },
    status: { observedGeneration: 7, ...s },
  };
}

const settled = { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 };

function cond(st: MattermostRTCDStatus, type: string): Condition {
  return st.conditions!.find((c) => c.type === type)!;
}
function summary(st: MattermostRTCDStatus): string {
  return ["Ready", "Progressing", "Degraded"]
    .map((t) => `${t}=${cond(st, t).status}/${cond(st, t).reason}`)
    .join(" ");
}

const compute = (
  c: MattermostRTCD,
  workload: V1Deployment | V1DaemonSet | undefined,
  extra: { problems?: { reason: string; message: string }[]; services?: V1Service[]; now?: Date } = {},
) =>
  computeStatus({
    cr: c,
    workload,
    services: extra.services ?? [],
    problems: extra.problems ?? [],
    now: extra.now ?? T0,
  });

describe("computeStatus", () => {
  it("is Ready when the rollout is complete, with the fields kstatus and the scale subresource read", () => {
    const st = compute(cr(), deploy(settled));
    expect(summary(st)).toBe(
      "Ready=True/Available Progressing=False/RolloutComplete Degraded=False/AsExpected",
    );
    expect(st).toMatchObject({
      observedGeneration: 3,
      deploymentType: "Deployment",
      desiredReplicas: 2,
      replicas: 2,
      readyReplicas: 2,
      updatedReplicas: 2,
      availableReplicas: 2,
      selector: "app.kubernetes.io/name=mattermost-rtcd,app.kubernetes.io/instance=rtcd",
      endpoint: "http://rtcd.calls.svc.cluster.local:8045",
    });
    for (const c of st.conditions!) {
      expect(c.observedGeneration).toBe(3);
      expect(c.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    }
  });

  it("is Progressing, not Ready, until the workload controller has seen the new spec", () => {
    const stale = deploy(settled, { generation: 8 });
    expect(summary(compute(cr(), stale))).toBe(
      "Ready=False/RolloutInProgress Progressing=True/RollingOut Degraded=False/AsExpected",
    );
  });

  it("is Progressing while pods are updated, made available, or old ones remain", () => {
    for (const s of [
      { ...settled, updatedReplicas: 1 },
      { ...settled, availableReplicas: 1 },
      { ...settled, replicas: 3 },
    ]) {
      const st = compute(cr(), deploy(s));
      expect(summary(st)).toBe(
        "Ready=False/RolloutInProgress Progressing=True/RollingOut Degraded=False/AsExpected",
      );
    }
    expect(cond(compute(cr(), deploy({ ...settled, updatedReplicas: 1 })), "Ready").message).toBe(
      "1/2 updated, 2/2 available",
    );
  });

  it("waits for the workload to exist", () => {
    const st = compute(cr(), undefined);
    expect(summary(st)).toBe(
      "Ready=False/WorkloadPending Progressing=True/Creating Degraded=False/AsExpected",
    );
    expect(st.replicas).toBe(0);
  });

  it("is Degraded with the first problem's reason and message", () => {
    const problems = [
      { reason: "SecretNotFound", message: 'spec.rtcd.turn.staticAuthSecretRef: Secret "turn" not found' },
      { reason: "Other", message: "x" },
    ];
    const st = compute(cr(), deploy(settled), { problems });
    expect(summary(st)).toBe(
      "Ready=False/SecretNotFound Progressing=False/SecretNotFound Degraded=True/SecretNotFound",
    );
    expect(cond(st, "Degraded").message).toBe(
      'spec.rtcd.turn.staticAuthSecretRef: Secret "turn" not found (and 1 more problem(s))',
    );
  });

  it("is Degraded when the Deployment reports a failure", () => {
    const stuck = deploy({
      ...settled,
      updatedReplicas: 1,
      conditions: [
        { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "slow" },
      ],
    });
    expect(cond(compute(cr(), stuck), "Degraded")).toMatchObject({
      status: "True",
      reason: "ProgressDeadlineExceeded",
    });
  });

  it("adds kstatus's Reconciling and Stalled conditions (Flux), present only while True", () => {
    const types = (st: MattermostRTCDStatus) => st.conditions!.map((c) => `${c.type}=${c.status}`).sort();
    const rolling = compute(cr(), deploy({ ...settled, updatedReplicas: 1 }));
    expect(types(rolling)).toContain("Reconciling=True");
    expect(types(rolling).join()).not.toContain("Stalled");
    expect(cond(rolling, "Reconciling").reason).toBe("RollingOut");
    const stuck = compute(
      cr(),
      deploy({
        ...settled,
        conditions: [
          { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "slow" },
        ],
      }),
    );
    expect(cond(stuck, "Stalled")).toMatchObject({ status: "True", reason: "ProgressDeadlineExceeded" });
    expect(types(stuck).join()).not.toContain("Reconciling");
    const ready = compute(cr(), deploy(settled));
    expect(types(ready)).toEqual(["Degraded=False", "Progressing=False", "Ready=True"]);
  });

  it("reports Paused", () => {
    const st = compute(cr({ paused: true }), deploy(settled));
    expect(summary(st)).toBe("Ready=False/Paused Progressing=False/Paused Degraded=False/AsExpected");
    expect(st.readyReplicas).toBe(2);
  });

  it("carries the autoscaler's capacity report, and a change of it is a reason to write", () => {
    const spec = { autoscaling: { maxReplicas: 4, targetSessionsPerPod: 10 } };
    const autoscaling = {
      desiredReplicas: 2,
      readyPods: 2,
      sessions: 7,
      loadPercent: 35,
      headroomSessions: 13,
    };
    const base = { cr: cr(spec), workload: deploy(settled), services: [], problems: [], now: T0 };
    const st = computeStatus({ ...base, autoscaling });
    expect(st.autoscaling).toEqual(autoscaling);
    expect(statusEqual(st, computeStatus({ ...base, autoscaling: { ...autoscaling, sessions: 8 } }))).toBe(
      false,
    );
    expect(computeStatus({ ...base, cr: cr({ ...spec, paused: true }), autoscaling }).autoscaling).toBe(
      undefined,
    );
  });

  it("counts a DaemonSet's pods", () => {
    const ds: V1DaemonSet = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "rtcd", generation: 2 },
      status: {
        observedGeneration: 2,
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberAvailable: 2,
        numberReady: 2,
        numberMisscheduled: 0,
      },
    };
    const c = cr({ deploymentType: "DaemonSet" });
    const st = compute(c, ds);
    expect(st).toMatchObject({
      deploymentType: "DaemonSet",
      desiredReplicas: 3,
      replicas: 3,
      availableReplicas: 2,
    });
    expect(cond(st, "Ready").status).toBe("False");
    expect(
      cond(compute(c, { ...ds, status: { ...ds.status!, numberAvailable: 3, numberReady: 3 } }), "Ready")
        .status,
    ).toBe("True");
  });

  it("waits for a load balancer address in LoadBalancer mode", () => {
    const c = cr({ replicas: 1, networking: { mode: "LoadBalancer" } });
    const one = deploy(
      { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 },
      { replicas: 1 },
    );
    const svc = (ingress?: { ip: string }[]): V1Service => ({
      metadata: { name: "rtcd-rtc" },
      status: { loadBalancer: ingress ? { ingress } : {} },
    });
    expect(cond(compute(c, one, { services: [svc()] }), "Ready").reason).toBe("LoadBalancerPending");
    expect(cond(compute(c, one, { services: [svc([{ ip: "1.2.3.4" }])] }), "Ready").status).toBe("True");
  });

  it("uses https in the endpoint when TLS is on, and never carries secret values", () => {
    const c = cr({
      apiPort: 9000,
      rtcd: {
        tls: { enabled: true, secretName: "tls" },
        turn: { staticAuthSecretRef: { name: "t", key: "k" } },
      },
    });
    const st = compute(c, deploy(settled));
    expect(st.endpoint).toBe("https://rtcd.calls.svc.cluster.local:9000");
    expect(JSON.stringify(st)).not.toMatch(/staticAuth|"t"|secret/i);
  });

  it("puts the cluster's DNS domain in the endpoint when it is not cluster.local", () => {
    const st = computeStatus({
      cr: cr(),
      workload: deploy(settled),
      services: [],
      problems: [],
      now: T0,
      clusterDomain: "k8s.example.internal",
    });
    expect(st.endpoint).toBe("http://rtcd.calls.svc.k8s.example.internal:8045");
  });

  it("names the scheduler's reason when a pod of the rollout cannot be placed", () => {
    const pending = (name: string, message: string): V1Pod => ({
      metadata: { name },
      spec: { containers: [] },
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message }],
      },
    });
    const placed: V1Pod = { metadata: { name: "rtcd-a" }, spec: { nodeName: "n1", containers: [] } };
    const why = "0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports.";
    const input = {
      cr: cr(),
      workload: deploy(
        { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
        { replicas: 3 },
      ),
      services: [],
      problems: [],
      now: T0,
    };
    const st = computeStatus({ ...input, pods: [placed, pending("rtcd-c", why), pending("rtcd-b", why)] });
    expect(summary(st)).toBe(
      "Ready=False/PodUnschedulable Progressing=True/RollingOut Degraded=False/AsExpected",
    );
    expect(cond(st, "Ready").message).toBe(`3/3 updated, 2/3 available; pod rtcd-b (and 1 more): ${why}`);
    // Without pods in that state, the plain rollout message.
    expect(cond(computeStatus({ ...input, pods: [placed] }), "Ready").reason).toBe("RolloutInProgress");
  });

  it("keeps lastTransitionTime while a condition's status holds, and moves it when it flips", () => {
    const first = compute(cr(), deploy(settled), { now: T0 });
    const again = compute(cr({}, first), deploy(settled), { now: T1 });
    expect(cond(again, "Ready").lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    const flipped = compute(cr({}, first), deploy({ ...settled, availableReplicas: 1 }), { now: T1 });
    expect(cond(flipped, "Ready").lastTransitionTime).toBe("2026-01-01T00:05:00Z");
    expect(cond(flipped, "Degraded").lastTransitionTime).toBe("2026-01-01T00:00:00Z");
  });
});

describe("statusEqual", () => {
  it("makes a resync of an unchanged resource write nothing", () => {
    const first = compute(cr(), deploy(settled), { now: T0 });
    const resync = compute(cr({}, first), deploy(settled), { now: T1 });
    expect(statusEqual(first, resync)).toBe(true);
    // As the API server returns it: JSON round trip, conditions in any order.
    const stored = JSON.parse(JSON.stringify(first)) as MattermostRTCDStatus;
    stored.conditions!.reverse();
    expect(statusEqual(stored, resync)).toBe(true);
  });

  it("compares nested objects by content, not key order (the API server returns keys sorted)", () => {
    const first = compute(cr({ rtcd: { mediaWorkers: 2 } }), deploy(settled), { now: T0 });
    const sortedKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sortedKeys)
        : v && typeof v === "object"
          ? Object.fromEntries(
              Object.entries(v)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([k, x]) => [k, sortedKeys(x)]),
            )
          : v;
    const stored = sortedKeys(JSON.parse(JSON.stringify(first))) as MattermostRTCDStatus;
    expect(Object.keys(stored.mediaPorts!.ports![0]!)).toEqual(["port", "worker"]);
    expect(statusEqual(stored, first)).toBe(true);
    expect(statusEqual(stored, { ...first, mediaPorts: { ...first.mediaPorts, summary: "other" } })).toBe(
      false,
    );
  });

  it("ignores only the transition time", () => {
    const a = compute(cr(), deploy(settled));
    const b = structuredClone(a);
    cond(b, "Ready").lastTransitionTime = "2030-01-01T00:00:00Z";
    expect(statusEqual(a, b)).toBe(true);
    cond(b, "Ready").message = "changed";
    expect(statusEqual(a, b)).toBe(false);
    expect(statusEqual(a, { ...a, readyReplicas: 1 })).toBe(false);
    expect(statusEqual(undefined, a)).toBe(false);
  });
});
