// The chart's two paths can never drift apart silently: for the same values,
// direct mode's pod template, Services and PDB equal what the operator renders
// for the MattermostRTCD the chart makes in operator mode.
import { describe, expect, test } from "vitest";
import { normalise, operatorRender, type Normalised } from "../../src/chart/parity.ts";
import { seedValuesFile } from "../../src/chart/paths.ts";
import { find, render, type RenderOptions, type Values } from "../../src/chart/render.ts";

const NAMESPACE = "rtcd";
const CR_API = ["--api-versions", "rtcd.mattermost.com/v1alpha1/MattermostRTCD"];
const seed: RenderOptions = { files: [seedValuesFile] };

const cases: [string, Values, RenderOptions][] = [
  ["the seed's sample values", {}, seed],
  ["the seed's sample values as a DaemonSet", { deploymentType: "daemonset" }, seed],
  ["the chart's defaults (our rtcd, drain-aware probes)", {}, {}],
  [
    "NodePort mode",
    {
      networking: { hostNetwork: false },
      service: { type: "NodePort", nodePorts: { rtc: 30443 } },
      configuration: { environmentVariables: { RTCD_RTC_ICEHOSTOVERRIDE: "rtcd.example.com" } },
    },
    {},
  ],
  [
    "LoadBalancer mode, one replica",
    {
      networking: { hostNetwork: false },
      configuration: { replicas: 1 },
      service: { type: "LoadBalancer", annotations: { "lb.example.com/kind": "nlb" } },
    },
    {},
  ],
  ["HostPort mode", { networking: { hostNetwork: false, useHostPort: true } }, {}],
  // Several media workers: a port per worker in every mode, and in NodePort
  // mode the workers listening on their node ports.
  ["three media workers, host networking", { configuration: { mediaWorkers: 3 } }, {}],
  [
    "three media workers, HostPort mode",
    { networking: { hostNetwork: false, useHostPort: true }, configuration: { mediaWorkers: 3 } },
    {},
  ],
  [
    "three media workers, NodePort mode",
    {
      networking: { hostNetwork: false },
      service: { type: "NodePort", nodePorts: { rtc: 30443 } },
      configuration: {
        mediaWorkers: 3,
        environmentVariables: { RTCD_RTC_ICEHOSTOVERRIDE: "rtcd.example.com" },
      },
    },
    {},
  ],
  [
    "three media workers, LoadBalancer mode",
    {
      networking: { hostNetwork: false },
      configuration: { replicas: 1, mediaWorkers: 3 },
      service: { type: "LoadBalancer" },
    },
    {},
  ],
  [
    "secrets, extra settings, a short grace, minAvailable",
    {
      configuration: {
        environmentVariables: {
          RTCD_API_SECURITY_ADMINSECRETKEY: "an-admin-key-of-at-least-32-characters",
          RTCD_RTC_NACKBUFFERSIZE: 512,
          RTCD_LOGGER_CONSOLEJSON: "true",
        },
        terminationGracePeriod: 600,
      },
      podDisruptionBudget: { maxUnavailable: null, minAvailable: 1 },
    },
    {},
  ],
];

/**
 * The differences that are deliberate, each with its reason; everything else
 * must be equal.
 */
function knownDifferences(d: Normalised, o: Normalised): void {
  const [de, oe] = [d.workload.container.env, o.workload.container.env];
  // The operator always enables the admin API, with a key it generates
  // (Secret <name>-admin) unless the spec names one: it registers clients
  // with it. Direct mode leaves the admin API as the values say.
  if (de.RTCD_API_SECURITY_ENABLEADMIN === "false" && oe.RTCD_API_SECURITY_ENABLEADMIN === "true") {
    delete de.RTCD_API_SECURITY_ENABLEADMIN;
    delete oe.RTCD_API_SECURITY_ENABLEADMIN;
    if (oe.RTCD_API_SECURITY_ADMINSECRETKEY === "<secret:ADMIN_SECRET_KEY>") {
      delete de.RTCD_API_SECURITY_ADMINSECRETKEY;
      delete oe.RTCD_API_SECURITY_ADMINSECRETKEY;
    }
  }
  // networking.useHostPort declares the API port as a hostPort too, as the
  // official chart did; the operator's HostPort mode exposes only media.
  if (!d.workload.pod.hostNetwork) {
    for (const p of d.workload.container.ports) {
      if (
        p.name === "api" &&
        !o.workload.container.ports.find((q: { name: string }) => q.name === "api").hostPort
      ) {
        delete p.hostPort;
      }
    }
  }
}

describe("parity of direct mode and the operator's render", () => {
  test.for(cases)("%s", ([, values, opts]) => {
    const direct = render(values, { ...opts, namespace: NAMESPACE });
    const cr = find(
      render(
        { ...values, operator: { enabled: true, crds: { install: false } } },
        { ...opts, namespace: NAMESPACE, args: CR_API },
      ),
      "MattermostRTCD",
    );
    const name = cr.metadata.name;
    const operator = operatorRender(cr, NAMESPACE);
    const [d, o] = [normalise(direct, name), normalise(operator, name)];
    knownDifferences(d, o);
    expect(o.workload.kind).toBe(d.workload.kind);
    expect(o.workload.replicas).toEqual(d.workload.replicas);
    expect(o.workload.progressDeadlineSeconds).toEqual(d.workload.progressDeadlineSeconds);
    expect(o.workload.strategy).toEqual(d.workload.strategy);
    expect(o.workload.podLabels?.["app.kubernetes.io/name"]).toBe(
      d.workload.podLabels?.["app.kubernetes.io/name"],
    );
    expect(o.workload.container).toEqual(d.workload.container);
    expect(o.workload.pod).toEqual(d.workload.pod);
    expect(o.services).toEqual(d.services);
    expect(o.pdb).toEqual(d.pdb);
  });
});
