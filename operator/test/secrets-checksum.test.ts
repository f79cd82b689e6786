import { describe, expect, it } from "vitest";
import { secretsChecksum } from "../src/controller/reconciler.ts";
import { render } from "../src/render/index.ts";
import type { MattermostRTCD } from "../src/api/index.ts";

const turn = { name: "turn", key: "secret", value: Buffer.from("one").toString("base64") };
const admin = { name: "x-admin", key: "ADMIN_SECRET_KEY", value: Buffer.from("k").toString("base64") };

describe("secretsChecksum", () => {
  it("is absent when the pods read no Secret", () => {
    expect(secretsChecksum("uid", [])).toBeUndefined();
  });

  it("does not depend on the order Secrets were read in", () => {
    expect(secretsChecksum("uid", [turn, admin])).toBe(secretsChecksum("uid", [admin, turn]));
  });

  it("changes with a value, and with the salt", () => {
    const base = secretsChecksum("uid", [turn]);
    expect(secretsChecksum("uid", [{ ...turn, value: Buffer.from("two").toString("base64") }])).not.toBe(
      base,
    );
    expect(secretsChecksum("other-uid", [turn])).not.toBe(base);
  });

  it("is carried on the pod template only when given", () => {
    const cr: MattermostRTCD = {
      apiVersion: "rtcd.mattermost.com/v1alpha1",
      kind: "MattermostRTCD",
      metadata: { name: "x", namespace: "ns" },
      spec: {},
    };
    const annotations = (sum?: string) => {
      const w = render(cr, { serviceMonitorAvailable: false, secretsChecksum: sum }).objects.find(
        (o) => o.kind === "Deployment",
      ) as { spec: { template: { metadata: { annotations: Record<string, string> } } } };
      return w.spec.template.metadata.annotations;
    };
    expect(annotations()["rtcd.mattermost.com/secrets-checksum"]).toBeUndefined();
    expect(annotations("abc")["rtcd.mattermost.com/secrets-checksum"]).toBe("abc");
  });
});
