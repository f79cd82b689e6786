// The command lines of the control plane's components, and the kubeconfigs
// they use. Everything binds to loopback; ports come from one base so two
// checkouts can run side by side (MMRTCD_CLUSTER_PORT_BASE).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Pki, ClientName } from "./certs.ts";
import { kwokStagesPath, toolPath, type Tool } from "./paths.ts";

export interface Ports {
  etcd: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
  /** The real nodes' OCI registry, on the host's veth address (registry.ts). */
  registry: number;
}

export function ports(): Ports {
  const raw = process.env["MMRTCD_CLUSTER_PORT_BASE"];
  const base = raw === undefined ? 16000 : Number(raw);
  if (!Number.isInteger(base) || base < 1024 || base > 65000) {
    throw new Error(`MMRTCD_CLUSTER_PORT_BASE must be an integer in 1024..65000, got "${raw}"`);
  }
  return {
    etcd: base + 379,
    etcdPeer: base + 380,
    apiserver: base + 443,
    controllerManager: base + 257,
    scheduler: base + 259,
    kwok: base + 247,
    registry: base + 500,
  };
}

export const SERVICE_CIDR = "10.96.0.0/16";
export const SERVICE_IP = "10.96.0.1";
export const POD_CIDR = "10.244.0.0/16";

export interface Component {
  name: string;
  tool: Tool;
  args: string[];
  listen: string;
}

export function writeKubeconfig(
  file: string,
  server: string,
  pki: Pki,
  user: ClientName | { name: string; cert: string; key: string },
  /** The name to verify the server's certificate against, when the address is not in it. */
  tlsServerName?: string,
): void {
  const { cert, key } = typeof user === "string" ? pki.client(user) : user;
  const userName = typeof user === "string" ? user : user.name;
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "mattermost-rtcd-local",
        cluster: {
          server,
          "certificate-authority": pki.caCert,
          ...(tlsServerName ? { "tls-server-name": tlsServerName } : {}),
        },
      },
    ],
    users: [{ name: userName, user: { "client-certificate": cert, "client-key": key } }],
    contexts: [
      { name: "mattermost-rtcd-local", context: { cluster: "mattermost-rtcd-local", user: userName } },
    ],
    "current-context": "mattermost-rtcd-local",
  };
  writeFileSync(file, stringify(doc), { mode: 0o600 });
}

export function components(state: string, pki: Pki, p: Ports): Component[] {
  const server = `https://127.0.0.1:${p.apiserver}`;
  const kc = (user: ClientName) => {
    const file = join(state, `${user}.kubeconfig`);
    writeKubeconfig(file, server, pki, user);
    return file;
  };
  const kcm = kc("controller-manager");
  const sched = kc("scheduler");
  const kwok = kc("kwok");
  return [
    {
      name: "etcd",
      tool: "etcd",
      listen: `http://127.0.0.1:${p.etcd}`,
      args: [
        "--name=local",
        `--data-dir=${join(state, "etcd")}`,
        `--listen-client-urls=http://127.0.0.1:${p.etcd}`,
        `--advertise-client-urls=http://127.0.0.1:${p.etcd}`,
        `--listen-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
        `--initial-cluster=local=http://127.0.0.1:${p.etcdPeer}`,
        "--quota-backend-bytes=4294967296",
        "--unsafe-no-fsync=true",
      ],
    },
    {
      name: "kube-apiserver",
      tool: "kube-apiserver",
      listen: server,
      args: [
        `--etcd-servers=http://127.0.0.1:${p.etcd}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${p.apiserver}`,
        `--tls-cert-file=${pki.apiserverCert}`,
        `--tls-private-key-file=${pki.apiserverKey}`,
        `--client-ca-file=${pki.caCert}`,
        "--authorization-mode=Node,RBAC",
        "--anonymous-auth=false",
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        "--service-node-port-range=30000-32767",
        "--allow-privileged=true",
        // Real nodes' kubelets authorize the API server (logs, exec) by this certificate.
        `--kubelet-client-certificate=${pki.client("admin").cert}`,
        `--kubelet-client-key=${pki.client("admin").key}`,
        "--kubelet-preferred-address-types=InternalIP",
        // The loopback advertise address cannot be an Endpoints address; the
        // in-cluster kubernetes Service is not used by anything here.
        "--endpoint-reconciler-type=none",
      ],
    },
    {
      name: "kube-controller-manager",
      tool: "kube-controller-manager",
      listen: `https://127.0.0.1:${p.controllerManager}`,
      args: [
        `--kubeconfig=${kcm}`,
        `--authentication-kubeconfig=${kcm}`,
        `--authorization-kubeconfig=${kcm}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${p.controllerManager}`,
        "--leader-elect=false",
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        "--use-service-account-credentials=true",
        `--cluster-signing-cert-file=${pki.caCert}`,
        `--cluster-signing-key-file=${pki.caKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        "--controllers=*",
      ],
    },
    {
      name: "kube-scheduler",
      tool: "kube-scheduler",
      listen: `https://127.0.0.1:${p.scheduler}`,
      args: [
        `--kubeconfig=${sched}`,
        `--authentication-kubeconfig=${sched}`,
        `--authorization-kubeconfig=${sched}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${p.scheduler}`,
        "--leader-elect=false",
      ],
    },
    {
      name: "kwok",
      tool: "kwok",
      listen: `http://127.0.0.1:${p.kwok}`,
      args: [
        `--kubeconfig=${kwok}`,
        `--config=${kwokStagesPath()}`,
        `--config=${join(import.meta.dirname, "kwok-pod-ready-again.yaml")}`,
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        `--cidr=${POD_CIDR}`,
        "--node-ip=127.0.0.1",
        "--node-lease-duration-seconds=40",
        `--server-address=127.0.0.1:${p.kwok}`,
      ],
    },
  ];
}

export function binaryOf(c: Component): string {
  return toolPath(c.tool);
}

export const ZONES = ["zone-a", "zone-b", "zone-c"] as const;

export interface KwokNodeOptions {
  name: string;
  zone: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  /** Allocatable (and capacity); default 16 CPUs, 64Gi, 110 pods. */
  resources?: { cpu: string; memory: string; pods: string };
}

/** A fake node kwok keeps Ready (it manages nodes with the kwok annotation). */
export function kwokNode(o: KwokNodeOptions) {
  const resources = o.resources ?? { cpu: "16", memory: "64Gi", pods: "110" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: o.name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": o.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "kwok",
        "topology.kubernetes.io/region": "local",
        "topology.kubernetes.io/zone": o.zone,
        type: "kwok",
        ...o.labels,
      },
    },
    spec: { taints: o.taints ?? [] },
    status: { allocatable: resources, capacity: resources },
  };
}

/** The cluster's own nodes, one per zone (more cycle through the zones). */
export function nodeManifests(count: number): object[] {
  return Array.from({ length: count }, (_, i) =>
    kwokNode({ name: `kwok-node-${i + 1}`, zone: ZONES[i % ZONES.length]! }),
  );
}
