import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { productionClosure, resolveIn, type LockPackage } from "./prune-node-modules.ts";

const lock = JSON.parse(readFileSync(join(import.meta.dirname, "../../package-lock.json"), "utf8")) as {
  packages: Record<string, LockPackage>;
};

describe("the production closure of a workspace", () => {
  const packages: Record<string, LockPackage> = {
    app: { dependencies: { a: "1" }, optionalDependencies: { gone: "1" } },
    other: { dependencies: { big: "1" } },
    "node_modules/a": { dependencies: { b: "2" } },
    "node_modules/b": {},
    "node_modules/a/node_modules/b": { peerDependencies: { c: "1" } },
    "node_modules/c": {},
    "node_modules/big": {},
  };

  test("follows Node's resolution: a nested copy before the hoisted one; peers and optionals when installed", () => {
    expect(resolveIn(packages, "node_modules/a", "b")).toBe("node_modules/a/node_modules/b");
    expect([...productionClosure(packages, "app")].sort()).toEqual([
      "node_modules/a",
      "node_modules/a/node_modules/b",
      "node_modules/c",
    ]);
  });

  test("a required dependency the lock does not install is an error, not a silent gap", () => {
    expect(() => productionClosure({ app: { dependencies: { x: "1" } } }, "app")).toThrow(/app needs x/);
  });

  test("in this repository's lock: rtcd's image gets mediasoup and ws, not the operator's werift", () => {
    const rtcd = productionClosure(lock.packages, "rtcd");
    expect(rtcd.has("node_modules/mediasoup")).toBe(true);
    expect(rtcd.has("node_modules/ws")).toBe(true);
    expect(rtcd.has("node_modules/werift")).toBe(false);
    expect(productionClosure(lock.packages, "operator").has("node_modules/werift")).toBe(true);
  });
});
