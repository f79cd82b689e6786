// A pod deleted while its container is still starting stops at once, in both
// our images. Node as PID 1 loses a SIGTERM that comes before the program has
// installed its handlers (the kernel drops a signal to a PID namespace's init
// that has no handler, and Node's own start-up handler swallows the first
// one); such a pod then ran out its whole grace (5 hours for rtcd), holding
// its node's ports. The images run Node under tini, which forwards the
// signal to a Node that is not PID 1, so it ends.
//
// "Still starting" is made certain, not raced: a preloaded module holds Node
// before the image's program loads (NODE_OPTIONS=--require, from a
// ConfigMap), and the pod is deleted once that module has said so.
import { afterAll, beforeAll, describe, test } from "vitest";
import { stringify } from "yaml";
import { kubectl, tryKubectl, useCluster, useNamespace, waitFor } from "../../src/testing/index.ts";
import {
  ensureRealNodes,
  podLog,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeSkipReason,
  realNodesReleased,
} from "../../src/testing/real-node.ts";
import { registryImage, type ImageName } from "../../src/testing/registry.ts";

const skip = realNodeSkipReason();
const ns = skip ? { name: "unused" } : useNamespace("signals");
const HOLDING = "holding Node before the image's program loads";
// Far longer than the wait below: a SIGTERM that is lost leaves the pod
// Terminating for the whole test, never gone by luck.
const GRACE_S = 3600;
// kubelet stopping a container whose process ends on SIGTERM, and removing
// the pod: seconds. Not a speed target, the bound on "at once" versus "grace".
const GONE_WITHIN_MS = 60_000;

const hold = `process.stderr.write(${JSON.stringify(HOLDING + "\n")});
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${GRACE_S * 1000});
`;

function pod(name: string, image: ImageName): Record<string, unknown> {
  const { repository, tag, pullPolicy } = registryImage(image);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns.name },
    spec: {
      terminationGracePeriodSeconds: GRACE_S,
      nodeSelector: { [REAL_NODE_LABEL]: "true" },
      tolerations: [{ ...REAL_NODE_TAINT, operator: "Equal" }],
      containers: [
        {
          name: "main",
          image: `${repository}:${tag}`,
          imagePullPolicy: pullPolicy,
          env: [{ name: "NODE_OPTIONS", value: "--require /hold/hold.cjs" }],
          volumeMounts: [{ name: "hold", mountPath: "/hold", readOnly: true }],
          securityContext: {
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
      volumes: [{ name: "hold", configMap: { name: "hold" } }],
    },
  };
}

describe.skipIf(!!skip)("a pod deleted while its process is still starting (real nodes)", () => {
  beforeAll(async () => {
    await useCluster();
    await ensureRealNodes(1);
  }, 2_700_000);

  afterAll(async () => {
    // After a failure the pods would hold for an hour: end them now.
    await tryKubectl(["delete", "pods", "--all", "-n", ns.name, "--grace-period=0", "--force"]);
  });

  test("stops at once in the rtcd and operator images, not after its grace", async () => {
    const pods = [
      { name: "rtcd-starting", image: "rtcd" as const },
      { name: "operator-starting", image: "operator" as const },
    ];
    const docs = [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "hold", namespace: ns.name },
        data: { "hold.cjs": hold },
      },
      ...pods.map((p) => pod(p.name, p.image)),
    ];
    await kubectl(["apply", "-f", "-"], { input: docs.map((d) => stringify(d)).join("---\n") });
    for (const p of pods) {
      await waitFor(async () => (await podLog(ns.name, p.name, 5)).includes(HOLDING), {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: `${p.name}'s Node to be running and held before the program loads`,
      });
    }
    await kubectl(["delete", "pods", ...pods.map((p) => p.name), "-n", ns.name, "--wait=false"]);
    // Its timeout names each pod still there, with its log and its kubelet's lines about it.
    await realNodesReleased(ns.name, GONE_WITHIN_MS);
  });
});
