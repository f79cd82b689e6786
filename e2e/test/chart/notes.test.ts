// NOTES.txt: what to set on the Mattermost side, for each networking mode and
// for operator mode, as `helm install` prints it.
import { describe, expect, test } from "vitest";
import { seedValuesFile } from "../../src/chart/paths.ts";
import { renderNotes } from "../../src/chart/render.ts";

const seed = { files: [seedValuesFile] };

describe("release notes", () => {
  test("the seed's sample values: the headless Service URL and self-registration credentials", () => {
    const notes = renderNotes({}, seed);
    expect(notes).toContain("MM_CALLS_RTCD_SERVICE_URL=http://mattermost-rtcd.rtcd.svc.cluster.local:8045");
    expect(notes).toContain("MM_CALLS_RTCD_CLIENT_ID=");
    expect(notes).toContain("MM_CALLS_RTCD_AUTH_KEY=<a random secret of at least 32 characters>");
    expect(notes).toContain("Self-registration is on");
    expect(notes).toContain("the public address its STUN servers (RTCD_RTC_ICESERVERS) report");
    expect(notes).toContain("helm test mattermost-rtcd -n rtcd");
  });

  test("self-registration off (the default): how to register a client, and a warning", () => {
    const notes = renderNotes({});
    expect(notes).toContain("WARNING, nobody can");
    expect(notes).toContain("RTCD_API_SECURITY_ALLOWSELFREGISTRATION");
    const admin = renderNotes({
      configuration: {
        environmentVariables: {
          RTCD_API_SECURITY_ENABLEADMIN: "true",
          RTCD_API_SECURITY_ADMINSECRETKEY: "k".repeat(32),
        },
      },
    });
    expect(admin).toContain("register them first with");
    expect(admin).toContain("/register");
    expect(admin).not.toContain("k".repeat(32));
  });

  test("TLS: an https URL", () => {
    expect(
      renderNotes({ configuration: { environmentVariables: { RTCD_API_HTTP_TLS_ENABLE: '"true"' } } }),
    ).toContain("MM_CALLS_RTCD_SERVICE_URL=https://mattermost-rtcd.rtcd.svc.cluster.local:8045");
  });

  test("NodePort: the headless Service, and the node port media goes to", () => {
    const notes = renderNotes({
      networking: { hostNetwork: false },
      service: { type: "NodePort", nodePorts: { rtc: 30443 } },
    });
    expect(notes).toContain(
      "MM_CALLS_RTCD_SERVICE_URL=http://mattermost-rtcd-headless.rtcd.svc.cluster.local:8045",
    );
    expect(notes).toContain("To node port 30443");
  });

  test("one LoadBalancer in front of several replicas is called out", () => {
    const notes = renderNotes({ networking: { hostNetwork: false }, service: { type: "LoadBalancer" } });
    expect(notes).toContain("WARNING: one load balancer in front of several rtcd pods");
  });

  test("operator mode, first install: the MattermostRTCD comes with the next upgrade", () => {
    const notes = renderNotes({ operator: { enabled: true, crds: { install: false } } }, seed);
    expect(notes).toContain("The MattermostRTCD operator is installed");
    expect(notes).toContain("Run the same `helm upgrade --install` command once");
  });

  test("operator mode with the resource: the endpoint from its status", () => {
    const notes = renderNotes(
      { operator: { enabled: true, crds: { install: false } } },
      { ...seed, args: ["--api-versions", "rtcd.mattermost.com/v1alpha1/MattermostRTCD"] },
    );
    expect(notes).toContain("kubectl -n rtcd wait --for=condition=Ready mattermostrtcd/mattermost-rtcd");
    expect(notes).toContain("MM_CALLS_RTCD_SERVICE_URL=http://mattermost-rtcd.rtcd.svc.cluster.local:8045");
    expect(notes).toContain("jsonpath='{.status.endpoint}'");
    expect(notes).toContain("Self-registration is on");
  });
});
