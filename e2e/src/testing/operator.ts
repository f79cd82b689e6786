// The operator for an e2e file: the real CLI as a child process (what the
// operator image runs), with the CRD applied, watching only the file's own
// namespaces so that concurrent test files never see each other's resources.
// On failure its last log lines go into the diagnostics.
import { afterAll, beforeAll } from "vitest";
import { applyCrd } from "./crd.ts";
import { useDiagnostics } from "./diagnostics.ts";
import { useCluster } from "./kube.ts";
import { startOperator, type OperatorProcess } from "./operator-process.ts";
import { waitFor } from "./wait.ts";

/**
 * How long a test waits for a Deployment or a MattermostRTCD to get Ready. The
 * local cluster is shared with other test runs and benchmarks on two cores;
 * under load its controller-manager lags by a minute, so this is generous. It
 * bounds waiting, it is not a performance check.
 */
export const READY_TIMEOUT_MS = 240_000;

export interface OperatorHandle {
  /** Set by the file's beforeAll. */
  op: OperatorProcess | undefined;
}

/**
 * Applies the CRD and runs the operator for `namespaces` during the calling
 * file; registers diagnostics for those namespaces and the operator's logs.
 */
export function useOperator(namespaces: () => readonly string[], args: string[] = []): OperatorHandle {
  const handle: OperatorHandle = { op: undefined };
  useDiagnostics({ namespaces, operatorLogs: () => handle.op?.logs });
  beforeAll(async () => {
    const c = await useCluster();
    await applyCrd();
    const nsArgs = namespaces().flatMap((n) => ["--namespace", n]);
    handle.op = await startOperator(c.kubeconfig, [...nsArgs, ...args], c.env);
    const op = handle.op;
    await waitFor(async () => op.ready(), { timeoutMs: 30_000, what: "the operator's /readyz" });
  });
  afterAll(async () => {
    await handle.op?.stop();
  });
  return handle;
}

/** Writes (create/apply/patch/update/delete) the operator made, leases excluded. */
export async function operatorWrites(op: OperatorProcess): Promise<number> {
  return (await op.metrics())
    .split("\n")
    .filter((l) => l.startsWith("rtcd_operator_api_requests_total{"))
    .filter((l) => /verb="(create|apply|patch|update|delete)"/.test(l) && !/resource="leases"/.test(l))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

/** Waits until the operator has made no write for `quietMs` (in-flight status updates settled). */
export async function operatorQuiet(
  op: OperatorProcess,
  quietMs = 3000,
  timeoutMs = 60_000,
): Promise<number> {
  let last = await operatorWrites(op);
  let since = Date.now();
  return waitFor(
    async () => {
      const now = await operatorWrites(op);
      if (now !== last) {
        last = now;
        since = Date.now();
        return undefined;
      }
      return Date.now() - since >= quietMs ? now : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `the operator to make no write for ${quietMs / 1000}s` },
  );
}
