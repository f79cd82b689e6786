// `npm start`: the main job on one machine. Starts (or reuses) the local
// cluster, installs the CRDs, runs the operator in the foreground and applies
// the sample MattermostRTCD, then waits until it is Ready and says so.
// The operator keeps running until Ctrl-C; `--exit-when-ready` stops it once
// the sample is Ready (used by tests and CI).
// `--real-node`: the cluster gets two real nodes (a kubelet and containerd
// each, in network namespaces of this machine) and the sample runs our rtcd
// image there for real, so `npm run test-call` can make a call through it.
// Simulated (kwok) nodes run no container: without it no call can be made.
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import {
  ensureCluster,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeRtcdImage,
  up,
} from "@mattermost-rtcd/e2e/cluster";

const root = join(import.meta.dirname, "..");
const exitWhenReady = process.argv.includes("--exit-when-ready");
const realNode = process.argv.includes("--real-node");
const namespace = process.env.SAMPLE_NAMESPACE ?? "rtcd-sample";
const sample = join(root, "operator/config/samples/mattermostrtcd.yaml");

function say(msg: string): void {
  process.stdout.write(`[start] ${msg}\n`);
}

if (realNode && process.env["E2E_KUBECONFIG"])
  throw new Error("--real-node starts real nodes in the local cluster; unset E2E_KUBECONFIG");
if (realNode) say("starting the local cluster with 2 real nodes (the first time builds images: minutes)");
const cluster = realNode ? await up({ realNodes: 2 }) : await ensureCluster();
const env = { ...process.env, ...cluster.env };
const kubectl = (...args: string[]) => execFileSync("kubectl", args, { env, encoding: "utf8" });

say(`cluster ready (kubeconfig ${cluster.kubeconfig})`);
kubectl(
  "apply",
  "--server-side",
  "--force-conflicts",
  "-f",
  join(root, "crds/rtcd.mattermost.com_mattermostrtcds.yaml"),
);
kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/mattermostrtcds.rtcd.mattermost.com");
say("CRD installed");

const operator = spawn(
  process.execPath,
  [
    join(root, "operator/src/cli/main.ts"),
    "run",
    "--kubeconfig",
    cluster.kubeconfig,
    "--metrics-bind-address",
    "127.0.0.1:18080",
    "--health-probe-bind-address",
    "127.0.0.1:18081",
  ],
  { env, stdio: ["ignore", "inherit", "inherit"] },
);
let operatorExited = false;
operator.on("exit", (code) => {
  operatorExited = true;
  if (!stopping) {
    say(`operator exited unexpectedly (code ${code})`);
    process.exit(1);
  }
});
let stopping = false;
const stop = (code: number) => {
  stopping = true;
  if (!operatorExited) operator.kill("SIGTERM");
  operator.on("exit", () => process.exit(code));
  if (operatorExited) process.exit(code);
};
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

try {
  execFileSync("kubectl", ["create", "namespace", namespace], { env, stdio: "ignore" });
} catch {
  // already there
}
/** The sample as shipped; on real nodes, pinned to them and running the image built here, pulled from the cluster's registry. */
function sampleManifest(): string {
  const text = readFileSync(sample, "utf8");
  if (!realNode) return text;
  const cr = parse(text) as { spec: Record<string, unknown> };
  cr.spec["image"] = realNodeRtcdImage();
  cr.spec["nodeSelector"] = { [REAL_NODE_LABEL]: "true" };
  cr.spec["tolerations"] = [{ ...REAL_NODE_TAINT, operator: "Equal" }];
  return stringify(cr);
}
execFileSync("kubectl", ["apply", "-n", namespace, "-f", "-"], {
  env,
  input: sampleManifest(),
  stdio: ["pipe", "ignore", "inherit"],
});
say(`sample MattermostRTCD applied in namespace ${namespace}; waiting for Ready`);
try {
  kubectl("wait", "-n", namespace, "--for=condition=Ready", "--timeout=300s", "mattermostrtcd", "--all");
} catch (err) {
  say("the sample did not become Ready in 300 s:");
  process.stdout.write(kubectl("get", "mattermostrtcd", "-n", namespace, "-o", "yaml"));
  stop(1);
  throw err;
}
process.stdout.write(kubectl("get", "mattermostrtcd,deploy,svc", "-n", namespace, "-o", "wide"));
const endpoint = kubectl(
  "get",
  "mattermostrtcd",
  "-n",
  namespace,
  "-o",
  "jsonpath={.items[0].status.endpoint}",
);
say(`Ready. Set MM_CALLS_RTCD_SERVICE_URL=${endpoint} in Mattermost.`);
say(`Use this cluster in a shell with: eval "$(npm run -s cluster -- env)"`);
say(
  realNode
    ? "Make a test call through it with real WebRTC peers: npm run test-call"
    : "These nodes are simulated: no call can be made. For a real call: npm start -- --real-node",
);
if (exitWhenReady) stop(0);
else say("operator running; Ctrl-C stops it (the cluster keeps running: npm run cluster -- down)");
