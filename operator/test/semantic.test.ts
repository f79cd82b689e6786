import { describe, expect, it } from "vitest";
import { covers, firstDifference, parseQuantity } from "../src/controller/semantic.ts";

describe("covers", () => {
  const live = {
    metadata: { name: "a", labels: { x: "1", extra: "theirs" }, annotations: { "argocd/thing": "v" } },
    spec: {
      replicas: 5,
      template: {
        spec: {
          terminationGracePeriodSeconds: 18000,
          dnsPolicy: "ClusterFirst",
          containers: [
            {
              name: "rtcd",
              image: "img:1",
              ports: [{ containerPort: 8045, protocol: "TCP", name: "api" }],
              env: [
                { name: "A", value: "1" },
                { name: "HUMAN", value: "added" },
              ],
              resources: { requests: { cpu: "100m", memory: "32Mi" }, limits: { cpu: "1", memory: "1Gi" } },
            },
          ],
          tolerations: [{ key: "rtcd", operator: "Equal", value: "true", effect: "NoSchedule" }],
        },
      },
    },
  };

  it("accepts fields defaulted by the server or owned by other managers", () => {
    const desired = {
      metadata: { name: "a", labels: { x: "1" } },
      spec: {
        template: {
          spec: {
            terminationGracePeriodSeconds: 18000,
            containers: [{ name: "rtcd", image: "img:1", env: [{ name: "A", value: "1" }] }],
          },
        },
      },
    };
    expect(covers(live, desired)).toBe(true);
  });

  it("reports a human edit of a field we own, by path", () => {
    const desired = { spec: { template: { spec: { containers: [{ name: "rtcd", image: "img:2" }] } } } };
    expect(firstDifference(live, desired)).toBe("spec.template.spec.containers.[name=rtcd].image");
  });

  it("treats equal quantities in different spellings as equal", () => {
    const desired = {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "rtcd",
                resources: { requests: { cpu: "0.1", memory: "32Mi" }, limits: { cpu: "1000m" } },
              },
            ],
          },
        },
      },
    };
    expect(covers(live, desired)).toBe(true);
  });

  it("compares atomic lists element by element", () => {
    const desired = { spec: { template: { spec: { tolerations: [] as unknown[] } } } };
    expect(covers(live, desired)).toBe(false);
    const other = {
      spec: {
        template: {
          spec: { tolerations: [{ key: "rtcd", operator: "Equal", value: "false", effect: "NoSchedule" }] },
        },
      },
    };
    expect(firstDifference(live, other)).toBe("spec.template.spec.tolerations.[0].value");
  });

  it("detects a missing merge-keyed element", () => {
    const desired = { spec: { template: { spec: { containers: [{ name: "sidecar", image: "x" }] } } } };
    expect(covers(live, desired)).toBe(false);
  });

  it("does not treat plain strings as quantities outside resource maps", () => {
    expect(covers({ a: { b: "1000m" } }, { a: { b: "1" } })).toBe(false);
  });
});

describe("parseQuantity", () => {
  it.each([
    ["100m", 0.1],
    ["1", 1],
    ["15Gi", 15 * 2 ** 30],
    ["32Mi", 32 * 2 ** 20],
    ["1e3", 1000],
    ["7800m", 7.8],
    ["2k", 2000],
  ])("%s", (q, v) => {
    expect(parseQuantity(q)).toBeCloseTo(v, 9);
  });
  it("rejects garbage", () => {
    expect(parseQuantity("12Xi")).toBeUndefined();
    expect(parseQuantity("")).toBeUndefined();
  });
});
