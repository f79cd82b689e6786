// A fresh namespace per test file, deleted afterwards, so that files sharing a
// cluster never see each other's objects.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { kubectl, tryKubectl } from "./kube.ts";

export interface Namespace {
  readonly name: string;
}

/**
 * A fresh namespace for the calling test file, created before its tests and
 * deleted (without waiting for finalizers) after them.
 */
export function useNamespace(prefix: string): Namespace {
  const name = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 40)}-${randomBytes(3).toString("hex")}`;
  beforeAll(async () => {
    await kubectl(["create", "namespace", name]);
  });
  afterAll(async () => {
    if (process.env["E2E_KEEP_NAMESPACES"]) return;
    await tryKubectl(["delete", "namespace", name, "--wait=false"]);
  });
  return { name };
}
