// The cluster's PKI, made with the openssl CLI (a Debian package on every
// machine we run on): one CA, the API server's serving certificate, a client
// certificate per component, and the service-account signing key pair.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  saKey: string;
  saPub: string;
  client(name: ClientName): { cert: string; key: string };
}

export type ClientName = "admin" | "controller-manager" | "scheduler" | "kwok";

const SUBJECTS: Record<ClientName, string> = {
  admin: "/O=system:masters/CN=kubernetes-admin",
  "controller-manager": "/CN=system:kube-controller-manager",
  scheduler: "/CN=system:kube-scheduler",
  // kwok writes node status, leases and pod status for every fake node.
  kwok: "/O=system:masters/CN=kwok-controller",
};

/**
 * A client certificate for any subject (a real node's kubelet is
 * system:node:<name> in system:nodes), signed by the cluster CA; kept if present.
 */
export function ensureClientCert(pki: Pki, name: string, subject: string): { cert: string; key: string } {
  const cert = join(pki.dir, `${name}.crt`);
  const key = join(pki.dir, `${name}.key`);
  if (existsSync(cert)) return { cert, key };
  const csr = join(pki.dir, `${name}.csr`);
  const extFile = join(pki.dir, `${name}.ext`);
  writeFileSync(
    extFile,
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
  );
  openssl(["genrsa", "-out", key, "2048"], pki.dir);
  openssl(["req", "-new", "-key", key, "-subj", subject, "-out", csr], pki.dir);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      pki.caCert,
      "-CAkey",
      pki.caKey,
      "-CAcreateserial",
      "-days",
      "365",
    ].concat(["-extfile", extFile, "-out", cert]),
    pki.dir,
  );
  return { cert, key };
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: Buffer; code?: string };
    if (e.code === "ENOENT")
      throw new Error("openssl is not installed (apt-get install openssl)", { cause: err });
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? String(err)}`, { cause: err });
  }
}

export function ensurePki(dir: string, serviceIp: string, extraIps: readonly string[] = []): Pki {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const pki: Pki = {
    dir,
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    apiserverCert: p("apiserver.crt"),
    apiserverKey: p("apiserver.key"),
    saKey: p("sa.key"),
    saPub: p("sa.pub"),
    client: (name) => ({ cert: p(`${name}.crt`), key: p(`${name}.key`) }),
  };
  if (!existsSync(pki.caCert)) {
    openssl(["genrsa", "-out", pki.caKey, "2048"], dir);
    openssl(
      [
        "req",
        "-x509",
        "-new",
        "-key",
        pki.caKey,
        "-subj",
        "/CN=mattermost-rtcd-local-ca",
        "-days",
        "365",
        "-out",
        pki.caCert,
      ],
      dir,
    );
  }
  if (!existsSync(pki.saKey)) {
    openssl(["genrsa", "-out", pki.saKey, "2048"], dir);
    openssl(["rsa", "-in", pki.saKey, "-pubout", "-out", pki.saPub], dir);
  }
  if (!existsSync(pki.apiserverCert)) {
    const sans = [
      "DNS:localhost",
      "DNS:kubernetes",
      "DNS:kubernetes.default",
      "DNS:kubernetes.default.svc",
      "DNS:kubernetes.default.svc.cluster.local",
      "IP:127.0.0.1",
      `IP:${serviceIp}`,
      // The host's end of the real nodes' veth, where their kubelets reach the API server.
      ...extraIps.map((ip) => `IP:${ip}`),
    ].join(",");
    signed("apiserver", "/CN=kube-apiserver", `subjectAltName=${sans}\nextendedKeyUsage=serverAuth`);
  }
  for (const name of Object.keys(SUBJECTS) as ClientName[]) {
    if (!existsSync(pki.client(name).cert)) signed(name, SUBJECTS[name], "extendedKeyUsage=clientAuth");
  }
  return pki;

  function signed(name: string, subject: string, ext: string): void {
    const key = p(`${name}.key`);
    const csr = p(`${name}.csr`);
    const extFile = p(`${name}.ext`);
    writeFileSync(extFile, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n${ext}\n`);
    openssl(["genrsa", "-out", key, "2048"], dir);
    openssl(["req", "-new", "-key", key, "-subj", subject, "-out", csr], dir);
    openssl(
      [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        pki.caCert,
        "-CAkey",
        pki.caKey,
        "-CAcreateserial",
        "-days",
        "365",
        "-extfile",
        extFile,
        "-out",
        p(`${name}.crt`),
      ],
      dir,
    );
  }
}
