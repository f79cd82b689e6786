// What a MattermostRTCD may ask for, as the real API server decides it: whoever
// may create one must not get a privileged pod through the operator, and a
// malformed quantity must fail when the CR is applied, not later. Every
// refusal names the field.
import { describe, expect, it } from "vitest";
import { kubectl, tryKubectl, useNamespace, cr, installCrd } from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-admission");
installCrd();

const dryRun = (spec: Record<string, unknown>) =>
  tryKubectl(["apply", "--dry-run=server", "-n", ns.name, "-f", "-"], { input: cr("asks", spec) });

const refused: [string, Record<string, unknown>, RegExp][] = [
  [
    "a privileged container",
    { securityContext: { privileged: true } },
    /spec\.securityContext\.privileged: Invalid value: .*must not be true/,
  ],
  [
    "privilege escalation",
    { securityContext: { allowPrivilegeEscalation: true } },
    /spec\.securityContext\.allowPrivilegeEscalation: Invalid value: .*must not be true/,
  ],
  [
    "a container running as root",
    { securityContext: { runAsUser: 0 } },
    /spec\.securityContext\.runAsUser: Invalid value: .*must not be 0/,
  ],
  [
    "a container allowed to run as root",
    { securityContext: { runAsNonRoot: false } },
    /spec\.securityContext\.runAsNonRoot: Invalid value: .*must not be false/,
  ],
  [
    "a pod running as root",
    { podSecurityContext: { runAsUser: 0 } },
    /spec\.podSecurityContext\.runAsUser: Invalid value: .*must not be 0/,
  ],
  [
    "a pod allowed to run as root",
    { podSecurityContext: { runAsNonRoot: false } },
    /spec\.podSecurityContext\.runAsNonRoot: Invalid value: .*must not be false/,
  ],
  [
    "an added capability rtcd does not need",
    { securityContext: { capabilities: { add: ["NET_BIND_SERVICE", "SYS_ADMIN"] } } },
    /spec\.securityContext\.capabilities\.add: Invalid value: .*may only add NET_BIND_SERVICE/,
  ],
  [
    "a malformed limit",
    { resources: { limits: { cpu: "two cores" } } },
    /spec\.resources\.limits\.cpu: Invalid value: "two cores"/,
  ],
  [
    "a negative request",
    { resources: { requests: { memory: "-1Gi" } } },
    /spec\.resources\.requests\.memory: Invalid value: "-1Gi"/,
  ],
  [
    "a negative integer request",
    { resources: { requests: { cpu: -1 } } },
    /spec\.resources\.requests\.cpu: Invalid value: -1/,
  ],
];

describe("the API server refuses a MattermostRTCD that asks for", () => {
  for (const [what, spec, want] of refused) {
    it(what, async () => {
      const r = await dryRun(spec);
      expect(r.ok, `accepted: ${JSON.stringify(spec)}`).toBe(false);
      expect(r.stderr).toMatch(want);
    });
  }
});

describe("the API server accepts", () => {
  it("what rtcd needs: NET_BIND_SERVICE, a non-root user, well-formed quantities", async () => {
    const r = await dryRun({
      podSecurityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 },
      securityContext: {
        privileged: false,
        allowPrivilegeEscalation: false,
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      },
      resources: { limits: { cpu: "1500m", memory: "1Gi" }, requests: { cpu: 1, memory: "512Mi" } },
    });
    expect(r.stderr).toBe("");
    expect(r.ok).toBe(true);
  });
});

describe("spec.autoscaling, as the API server decides it", () => {
  const sessions = { maxReplicas: 6, targetSessionsPerPod: 200 };
  const refusedScaling: [string, Record<string, unknown>, RegExp][] = [
    [
      "on a DaemonSet",
      { deploymentType: "DaemonSet", autoscaling: sessions },
      /spec\.autoscaling: Forbidden: not allowed when spec\.deploymentType is DaemonSet/,
    ],
    [
      "next to a fixed spec.replicas (two owners of one number)",
      { replicas: 3, autoscaling: sessions },
      /spec\.replicas: Forbidden: must be unset when spec\.autoscaling\.enabled is true/,
    ],
    [
      "a CPU target without a CPU limit to measure it against",
      { autoscaling: { maxReplicas: 6, targetCPUPercent: 70 } },
      /spec\.autoscaling\.targetCPUPercent: Required value: needs spec\.resources\.limits\.cpu/,
    ],
    [
      "minReplicas above maxReplicas",
      { autoscaling: { ...sessions, minReplicas: 7 } },
      /spec\.autoscaling\.minReplicas: Invalid value: .*must not exceed spec\.autoscaling\.maxReplicas/,
    ],
    [
      "no target at all",
      { autoscaling: { maxReplicas: 6 } },
      /spec\.autoscaling: Required value: set targetCPUPercent, targetSessionsPerPod or both/,
    ],
    [
      "no maxReplicas",
      { autoscaling: { targetSessionsPerPod: 200 } },
      /spec\.autoscaling\.maxReplicas: Required value/,
    ],
  ];
  for (const [what, spec, want] of refusedScaling) {
    it(`refuses autoscaling ${what}`, async () => {
      const r = await dryRun(spec);
      expect(r.ok, `accepted: ${JSON.stringify(spec)}`).toBe(false);
      expect(r.stderr).toMatch(want);
    });
  }

  it("refuses kubectl scale (the scale subresource an HPA writes) while autoscaling is enabled", async () => {
    await kubectl(["apply", "-n", ns.name, "-f", "-"], { input: cr("scaled", { autoscaling: sessions }) });
    const r = await tryKubectl(["scale", "-n", ns.name, "mattermostrtcd", "scaled", "--replicas=3"]);
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(
      /spec\.replicas: Forbidden: must be unset when spec\.autoscaling\.enabled is true/,
    );
  });

  it("accepts autoscaling on CPU and sessions with a CPU limit, and replicas once it is switched off", async () => {
    const on = await dryRun({
      resources: { limits: { cpu: "2" } },
      autoscaling: { ...sessions, targetCPUPercent: 70, minReplicas: 2, bufferPods: 1 },
    });
    expect(on.stderr).toBe("");
    expect(on.ok).toBe(true);
    const off = await dryRun({ replicas: 3, autoscaling: { ...sessions, enabled: false } });
    expect(off.stderr).toBe("");
    expect(off.ok).toBe(true);
  });
});
