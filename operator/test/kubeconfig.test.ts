// How the operator finds its API server and credentials (kubeconfig.ts,
// access.ts): what kubectl would use from the same kubeconfig, and a clear
// error for what it cannot use.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KubeAccess } from "../src/kube/access.ts";
import { connectionFromKubeconfig, inClusterConnection, KubeconfigError } from "../src/kube/kubeconfig.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
  dirs.push(d);
  return d;
}

const TWO_CONTEXTS = `
apiVersion: v1
kind: Config
current-context: b
clusters:
- name: ca
  cluster:
    server: https://a.example:6443/
    certificate-authority-data: Q0E=
- name: cb
  cluster:
    server: https://b.example:6443
    certificate-authority: pki/ca.crt
    tls-server-name: kubernetes
users:
- name: ua
  user:
    token: token-a
- name: ub
  user:
    client-certificate: pki/client.crt
    client-key-data: S0VZ
contexts:
- name: a
  context: { cluster: ca, user: ua }
- name: b
  context: { cluster: cb, user: ub }
`;

describe("connectionFromKubeconfig", () => {
  it("takes the current context's cluster and user, files relative to the kubeconfig", () => {
    const c = connectionFromKubeconfig([{ path: "/etc/kube/config", text: TWO_CONTEXTS }]);
    expect(c).toEqual({
      source: 'kubeconfig /etc/kube/config, context "b"',
      server: "https://b.example:6443",
      ca: { file: "/etc/kube/pki/ca.crt" },
      tlsServerName: "kubernetes",
      insecureSkipTLSVerify: false,
      clientCert: { file: "/etc/kube/pki/client.crt" },
      clientKey: { data: "S0VZ" },
    });
  });

  it("takes another context when asked, and drops the server URL's trailing slash", () => {
    const c = connectionFromKubeconfig([{ path: "/k", text: TWO_CONTEXTS }], "a");
    expect(c.server).toBe("https://a.example:6443");
    expect(c.ca).toEqual({ data: "Q0E=" });
    expect(c.token).toBe("token-a");
  });

  it("merges several files as KUBECONFIG=a:b does: the first definition wins", () => {
    const first = `
current-context: a
users:
- name: ua
  user: { token: from-first }
`;
    const c = connectionFromKubeconfig([
      { path: "/first", text: first },
      { path: "/second", text: TWO_CONTEXTS },
    ]);
    expect(c.token).toBe("from-first");
    expect(c.server).toBe("https://a.example:6443");
  });

  it("reads an exec plugin's command, arguments and environment", () => {
    const text = `
current-context: x
clusters: [{ name: c, cluster: { server: "https://x:1" } }]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: get-token
      args: [--cluster, x]
      env: [{ name: REGION, value: eu }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
`;
    expect(connectionFromKubeconfig([{ path: "/k", text }]).exec).toEqual({
      command: "get-token",
      args: ["--cluster", "x"],
      env: [{ name: "REGION", value: "eu" }],
      apiVersion: "client.authentication.k8s.io/v1beta1",
    });
  });

  it.each([
    ["no current context", "clusters: []", /no current-context/],
    ["an undefined context", "current-context: nope", /context "nope" is not defined/],
    [
      "a context without a cluster",
      "current-context: x\ncontexts: [{ name: x, context: { user: u } }]",
      /context "x" names no defined cluster/,
    ],
    [
      "a cluster without a server",
      "current-context: x\nclusters: [{ name: c, cluster: {} }]\ncontexts: [{ name: x, context: { cluster: c } }]",
      /cluster "c" has no server/,
    ],
    [
      "an auth-provider",
      "current-context: x\nclusters: [{ name: c, cluster: { server: 'https://x' } }]\nusers: [{ name: u, user: { auth-provider: { name: gcp } } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]",
      /auth-provider is not supported/,
    ],
    [
      "a certificate without its key",
      "current-context: x\nclusters: [{ name: c, cluster: { server: 'https://x' } }]\nusers: [{ name: u, user: { client-certificate-data: QQ== } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]",
      /a client certificate needs its key/,
    ],
    [
      "a proxy",
      "current-context: x\nclusters: [{ name: c, cluster: { server: 'https://x', proxy-url: 'http://p:3128' } }]\ncontexts: [{ name: x, context: { cluster: c } }]",
      /proxy-url is not supported/,
    ],
    ["text that is not YAML", "a: [", /not YAML/],
  ])("refuses %s with an error that names it", (_what, text, message) => {
    expect(() => connectionFromKubeconfig([{ path: "/k", text }])).toThrow(KubeconfigError);
    expect(() => connectionFromKubeconfig([{ path: "/k", text }])).toThrow(message);
  });
});

describe("inClusterConnection", () => {
  it("uses the service account's token file and CA, with an IPv6 host in brackets", () => {
    const c = inClusterConnection(
      { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
      "/sa",
    );
    expect(c).toMatchObject({
      server: "https://[fd00::1]:443",
      ca: { file: "/sa/ca.crt" },
      tokenFile: "/sa/token",
      insecureSkipTLSVerify: false,
    });
  });

  it("says it is not in a cluster when the kubelet's variables are missing", () => {
    expect(() => inClusterConnection({})).toThrow(/not in a cluster/);
  });
});

describe("KubeAccess", () => {
  it("sends a token file's current content, read again once its minute has passed", async () => {
    const d = tmp();
    const file = join(d, "token");
    writeFileSync(file, "first\n");
    let now = 0;
    const access = new KubeAccess(
      { source: "t", server: "https://x", insecureSkipTLSVerify: false, tokenFile: file },
      () => now,
    );
    try {
      expect(await access.headers()).toEqual({ Authorization: "Bearer first" });
      writeFileSync(file, "second\n");
      now = 59_000;
      expect(await access.headers()).toEqual({ Authorization: "Bearer first" });
      now = 60_000;
      expect(await access.headers()).toEqual({ Authorization: "Bearer second" });
      // A file gone (mid-rotation) leaves the token read before in use.
      rmSync(file);
      now = 200_000;
      expect(await access.headers()).toEqual({ Authorization: "Bearer second" });
    } finally {
      await access.close();
    }
  });

  it("runs an exec plugin once for concurrent requests and keeps its token until it expires", async () => {
    const d = tmp();
    const counter = join(d, "runs");
    const plugin = join(d, "plugin.sh");
    // Prints an ExecCredential whose token names its run; the spec the
    // plugin was given is echoed back so the test sees it.
    writeFileSync(
      plugin,
      `#!/bin/sh
echo x >> "${counter}"
n=$(wc -l < "${counter}")
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"run-%s-%s","expirationTimestamp":"2999-01-01T00:00:00Z"}}' "$n" "$REGION"
`,
    );
    chmodSync(plugin, 0o755);
    const access = new KubeAccess({
      source: "t",
      server: "https://x",
      insecureSkipTLSVerify: false,
      exec: {
        command: plugin,
        args: [],
        env: [{ name: "REGION", value: "eu" }],
        apiVersion: "client.authentication.k8s.io/v1",
      },
    });
    try {
      const all = await Promise.all([access.headers(), access.headers(), access.headers()]);
      expect(all).toEqual(Array(3).fill({ Authorization: "Bearer run-1-eu" }));
      expect(await access.headers()).toEqual({ Authorization: "Bearer run-1-eu" });
    } finally {
      await access.close();
    }
  });

  it("names the exec plugin that failed, with its stderr", async () => {
    const d = tmp();
    const plugin = join(d, "fail.sh");
    writeFileSync(plugin, "#!/bin/sh\necho 'credentials expired, run login' >&2\nexit 3\n");
    chmodSync(plugin, 0o755);
    const access = new KubeAccess({
      source: "kc",
      server: "https://x",
      insecureSkipTLSVerify: false,
      exec: { command: plugin, args: [], env: [], apiVersion: "client.authentication.k8s.io/v1" },
    });
    try {
      await expect(access.headers()).rejects.toThrow(
        /exec plugin .*fail\.sh failed.*credentials expired, run login/,
      );
    } finally {
      await access.close();
    }
  });

  it("looks in KUBECONFIG first, then ~/.kube/config, and says where it looked when neither is there", () => {
    const d = tmp();
    const file = join(d, "config");
    writeFileSync(file, TWO_CONTEXTS.replace("pki/ca.crt", "ca.crt").replace("pki/client.crt", "client.crt"));
    writeFileSync(join(d, "ca.crt"), "not a real CA, never used by this test");
    writeFileSync(join(d, "client.crt"), "-");
    const missing = join(d, "missing");
    const a = KubeAccess.fromDefault({ KUBECONFIG: `${missing}:${file}`, HOME: missing });
    expect(a.server).toBe("https://b.example:6443");
    void a.close();
    expect(() => KubeAccess.fromDefault({ HOME: missing })).toThrow(/no kubeconfig: pass --kubeconfig/);
  });
});
