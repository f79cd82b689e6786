// A Prometheus Operator installed after the operator started: the
// ServiceMonitor a MattermostRTCD asks for must appear on the next resync,
// without restarting the operator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  kubectl,
  tryKubectl,
  useCluster,
  useNamespace,
  waitFor,
  startOperator,
  type OperatorProcess,
  cr,
  getOrUndefined,
  installCrd,
  waitReady,
  type Obj,
} from "@mattermost-rtcd/e2e/testing";

const ns = useNamespace("operator-servicemonitor");
installCrd();
const SM_CRD = "servicemonitors.monitoring.coreos.com";
let op: OperatorProcess;

/**
 * The ServiceMonitor API as the Prometheus Operator's CRD serves it (same
 * group, version, names and scope); its long schema is left open because the
 * operator only needs the API to exist.
 */
const serviceMonitorCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: SM_CRD },
  spec: {
    group: "monitoring.coreos.com",
    names: {
      kind: "ServiceMonitor",
      listKind: "ServiceMonitorList",
      plural: "servicemonitors",
      singular: "servicemonitor",
    },
    scope: "Namespaced",
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        },
      },
    ],
  },
};

async function removeServiceMonitorCrd(): Promise<void> {
  await tryKubectl(["delete", "crd", SM_CRD, "--ignore-not-found", "--wait"]);
}

beforeAll(async () => {
  const c = await useCluster();
  await removeServiceMonitorCrd();
  op = await startOperator(c.kubeconfig, ["--namespace", ns.name, "--resync-period", "2s"], c.env);
  await waitFor(async () => op.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
});

afterAll(async () => {
  const code = await op?.stop();
  await removeServiceMonitorCrd();
  expect(code, `operator exit code; logs:\n${op?.logs.slice(-30).join("\n")}`).toBe(0);
});

describe("ServiceMonitor discovery", () => {
  it("creates the ServiceMonitor once its API is installed after the operator started", async () => {
    await kubectl(["apply", "-n", ns.name, "-f", "-"], {
      input: cr("delta", { replicas: 1, serviceMonitor: { enabled: true } }),
    });
    await waitReady(ns.name, "delta");

    await kubectl(["apply", "-f", "-"], { input: JSON.stringify(serviceMonitorCrd) });
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${SM_CRD}`]);
    const sm = await waitFor(
      () => getOrUndefined<Obj>(ns.name, "servicemonitors.monitoring.coreos.com", "delta"),
      {
        timeoutMs: 30_000,
        what: "the ServiceMonitor to be created after a resync",
      },
    );
    const ready = await waitReady(ns.name, "delta");
    expect(sm.metadata.ownerReferences?.[0]?.uid).toBe(ready.metadata!.uid);
  });
});
