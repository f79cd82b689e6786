// What integration and e2e tests use, as `@mattermost-rtcd/e2e/testing`: the
// provider's cluster and kubectl/helm runners (kube.ts), waits (wait.ts), a
// namespace per file, the CRD, the operator as a child process, MattermostRTCD
// readers, test nodes and failure diagnostics. Re-exports only: the modules
// import each other directly, never this barrel, so it cannot close a cycle.
export { providerName, kindImages, type ProviderName } from "./providers.ts";
export {
  useCluster,
  kubectl,
  tryKubectl,
  helm,
  tryHelm,
  getJson,
  type RunOptions,
  type RunResult,
} from "./kube.ts";
export { waitFor, quietFor, type WaitOptions, type QuietOptions } from "./wait.ts";
export { useNamespace, type Namespace } from "./namespace.ts";
export { useDiagnostics, diagnose, type DiagnosticsOptions } from "./diagnostics.ts";
export { useTestNodes, TEST_KEY_PREFIX, type Taint, type TestNodes, type TestNodesOptions } from "./nodes.ts";
export { CRD_FILE, applyCrd, installCrd } from "./crd.ts";
export { freeNodePortRange, freeNodePorts, randomHostPorts } from "./ports.ts";
export { startOperator, type OperatorProcess } from "./operator-process.ts";
export {
  READY_TIMEOUT_MS,
  useOperator,
  operatorWrites,
  operatorQuiet,
  type OperatorHandle,
} from "./operator.ts";
export {
  cr,
  condition,
  getOrUndefined,
  instanceObjects,
  instancePods,
  waitCondition,
  waitReady,
  type Obj,
} from "./mattermostrtcd.ts";
