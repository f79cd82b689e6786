// The pieces that hand Mattermost its credentials and gate pod readiness on
// them: the URL must carry the credentials the way the Calls plugin reads
// them (Go's url.Parse userinfo), and a pod counts as registered only when
// the operator itself said so for the current credentials.
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  CLIENT_REGISTERED_CONDITION,
  credentialsFingerprint,
  mattermostSecret,
  serviceURL,
} from "../src/render/mattermost-secret.ts";
import { podsToRegister, registeredMessage, REASON_REGISTERED } from "../src/controller/registration.ts";
import { validateOffline } from "../src/api/index.ts";
import { cr, out } from "./render-fixtures.ts";

const creds = { clientID: "mattermost", authKey: "k/y:+@%?#=with-odd-chars-0123456789abcdef" };

describe("MM_CALLS_RTCD_SERVICE_URL", () => {
  it("embeds the client ID and key so that a URL parser gives them back unchanged", () => {
    const u = new URL(serviceURL("http://rtcd.ns.svc.cluster.local:8045", creds));
    expect(decodeURIComponent(u.username)).toBe(creds.clientID);
    expect(decodeURIComponent(u.password)).toBe(creds.authKey);
    expect(`${u.protocol}//${u.host}${u.pathname}`).toBe("http://rtcd.ns.svc.cluster.local:8045/");
    expect(serviceURL("http://h:1", creds)).not.toMatch(/\/$/);
  });

  it("the Secret holds the URL, client ID and key, for the endpoint in status", () => {
    const s = mattermostSecret(
      cr({ mattermostClient: { clientID: "mattermost" }, apiPort: 9000 }),
      creds,
    ) as {
      metadata: { name: string };
      data: Record<string, string>;
    };
    const d = Object.fromEntries(
      Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
    );
    expect(s.metadata.name).toBe("rtcd-mattermost");
    expect(d["MM_CALLS_RTCD_CLIENT_ID"]).toBe("mattermost");
    expect(d["MM_CALLS_RTCD_AUTH_KEY"]).toBe(creds.authKey);
    expect(d["MM_CALLS_RTCD_SERVICE_URL"]).toBe(
      serviceURL("http://rtcd.calls.svc.cluster.local:9000", creds),
    );
  });
});

describe("readiness gate", () => {
  const template = (spec: Parameters<typeof out>[0]) =>
    (out(spec).objects.find((o) => o.kind === "Deployment") as V1Deployment).spec!.template.spec!;

  it("pods wait for the client-registered condition only when a client is declared", () => {
    expect(template({ mattermostClient: { clientID: "mattermost" } }).readinessGates).toEqual([
      { conditionType: CLIENT_REGISTERED_CONDITION },
    ]);
    expect(template({}).readinessGates).toBeUndefined();
  });

  it("a client ID rtcd cannot store is refused", () => {
    expect(validateOffline(cr({ mattermostClient: { clientID: "x".repeat(65) } })).length).toBeGreaterThan(0);
    expect(validateOffline(cr({ mattermostClient: { clientID: "has space" } })).length).toBeGreaterThan(0);
    expect(validateOffline(cr({ mattermostClient: { clientID: "mattermost" } }))).toEqual([]);
  });
});

describe("which pods still need the client", () => {
  const c = cr({ mattermostClient: { clientID: "mattermost" } });
  const fp = credentialsFingerprint(c, creds);
  const pod = (
    name: string,
    conditions: { type: string; status: string; reason?: string; message?: string }[],
  ) => ({ metadata: { name }, status: { phase: "Running", podIP: "10.0.0.1", conditions } }) as V1Pod;
  const ready = { type: "ContainersReady", status: "True" };
  const ours = (message: string) => ({
    type: CLIENT_REGISTERED_CONDITION,
    status: "True",
    reason: REASON_REGISTERED,
    message,
  });

  it("only serving pods not yet confirmed by the operator for these credentials", () => {
    const pods = [
      pod("starting", [{ type: "ContainersReady", status: "False" }]),
      pod("fresh", [ready]),
      // Someone else's True (kwok sets every gate True) proves nothing about rtcd.
      pod("other-writer", [ready, { type: CLIENT_REGISTERED_CONDITION, status: "True" }]),
      pod("done", [ready, ours(registeredMessage(fp))]),
      pod("old-key", [ready, ours(registeredMessage("000000000000"))]),
    ];
    expect(podsToRegister(pods, fp).map((p) => p.metadata!.name)).toEqual([
      "fresh",
      "other-writer",
      "old-key",
    ]);
  });

  it("the fingerprint changes with the key and never contains it", () => {
    const other = credentialsFingerprint(c, { ...creds, authKey: creds.authKey + "x" });
    expect(other).not.toBe(fp);
    expect(fp).not.toContain(creds.authKey.slice(0, 8));
  });
});
