// What the caches keep: everything the reconciler and status computation read,
// and not the fields that made 1000 instances cost hundreds of MiB.
import { describe, expect, it } from "vitest";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { RESOURCES } from "../src/api/resources.ts";
import { slimForCache } from "../src/controller/cache-transform.ts";

const managedFields = [
  { manager: "mattermost-rtcd-operator", operation: "Apply", fieldsV1: { "f:spec": {} } },
];

describe("slimForCache", () => {
  it("drops managedFields and kubectl's last-applied copy, keeps the rest of the object", () => {
    const d: V1Deployment = {
      metadata: {
        name: "a",
        namespace: "n",
        labels: { l: "1" },
        annotations: { keep: "x", "kubectl.kubernetes.io/last-applied-configuration": "{...}" },
        ownerReferences: [{ apiVersion: "v1", kind: "K", name: "a", uid: "u", controller: true }],
        managedFields,
      },
      spec: { replicas: 2, selector: {}, template: { spec: { containers: [{ name: "c", image: "i" }] } } },
    };
    const before = structuredClone(d);
    slimForCache(RESOURCES.Deployment, d);
    expect(d.metadata?.managedFields).toBeUndefined();
    expect(d.metadata?.annotations).toEqual({ keep: "x" });
    delete before.metadata!.managedFields;
    before.metadata!.annotations = { keep: "x" };
    expect(d).toEqual(before);
  });

  // compute.ts reads a pod's name, labels, deletion, spec.nodeName and
  // status.conditions (status.test.ts: "names the scheduler's reason").
  it("keeps of a Pod what says why a rollout waits", () => {
    const pod: V1Pod = {
      metadata: { name: "p", namespace: "n", labels: { "app.kubernetes.io/instance": "a" }, managedFields },
      spec: { containers: [{ name: "c", image: "i", env: [{ name: "A", value: "x".repeat(1000) }] }] },
      status: {
        phase: "Pending",
        conditions: [
          { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes" },
        ],
      },
    };
    slimForCache(RESOURCES.Pod, pod);
    expect(pod).toEqual({
      metadata: { name: "p", namespace: "n", labels: { "app.kubernetes.io/instance": "a" } },
      spec: { containers: [{ name: "c" }] },
      status: {
        phase: "Pending",
        conditions: [
          { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes" },
        ],
      },
    });
  });

  // The autoscaler (sampler.ts, autoscale-step.ts) and the registrar
  // (registration.ts) reach the pod at its IP once it runs, read its CPU
  // limit and its deletion cost.
  it("keeps of a Pod what the autoscaler and the Mattermost client's registrar read", () => {
    const pod: V1Pod = {
      metadata: {
        name: "p",
        annotations: { "controller.kubernetes.io/pod-deletion-cost": "3" },
        managedFields,
      },
      spec: {
        nodeName: "n1",
        containers: [{ name: "rtcd", image: "i", resources: { limits: { cpu: "2", memory: "1Gi" } } }],
      },
      status: { phase: "Running", podIP: "10.0.0.7", hostIP: "10.0.0.1", conditions: [] },
    };
    slimForCache(RESOURCES.Pod, pod);
    expect(pod).toEqual({
      metadata: { name: "p", annotations: { "controller.kubernetes.io/pod-deletion-cost": "3" } },
      spec: { nodeName: "n1", containers: [{ name: "rtcd", resources: { limits: { cpu: "2" } } }] },
      status: { phase: "Running", podIP: "10.0.0.7", conditions: [] },
    });
  });
});
