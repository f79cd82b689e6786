// What a MattermostRTCD may ask for, as the real API server decides it: whoever
// may create one must not get a privileged pod through the operator, and a
// malformed quantity must fail when the CR is applied, not later. Every
// refusal names the field.
import { describe, expect, it } from "vitest";
import { tryKubectl, useNamespace, cr, installCrd } from "@mattermost-rtcd/e2e/testing";

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
