// `npm run test-call`: a short call with real WebRTC peers through a running
// MattermostRTCD's rtcd, printing what each participant received. By default
// it calls the sample `npm start -- --real-node` runs (namespace rtcd-sample,
// instance rtcd) on the local cluster; `--url` and RTCD_ADMIN_KEY call any
// rtcd whose API this machine reaches.
//
//   npm run test-call [-- --namespace NS --name NAME --participants 3 --seconds 5]
//   RTCD_ADMIN_KEY=... npm run test-call -- --url http://HOST:8045
//
// Exit 0 when every participant heard every other one, 1 otherwise.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { kubeconfigPath } from "@mattermost-rtcd/e2e/cluster";
import { formatReport, judge, pickTarget, TestCall } from "@mattermost-rtcd/e2e/test-call";

const { values } = parseArgs({
  options: {
    namespace: { type: "string", default: process.env["SAMPLE_NAMESPACE"] ?? "rtcd-sample" },
    name: { type: "string", default: "rtcd" },
    participants: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    url: { type: "string" },
  },
});

function kubectlJson<T>(...args: string[]): T {
  const env = { ...process.env };
  if (!env["KUBECONFIG"] && existsSync(kubeconfigPath())) env["KUBECONFIG"] = kubeconfigPath();
  return JSON.parse(execFileSync("kubectl", [...args, "-o", "json"], { env, encoding: "utf8" })) as T;
}

async function main(): Promise<number> {
  let base = values.url;
  let adminKey = process.env["RTCD_ADMIN_KEY"];
  if (!base) {
    const ns = values.namespace!;
    const name = values.name!;
    const cr = kubectlJson<{
      spec?: { rtcd?: { security?: { adminSecretRef?: { name: string; key: string } } } };
    }>("get", "mattermostrtcd", name, "-n", ns);
    const pods = kubectlJson<{ items: Parameters<typeof pickTarget>[1] }>(
      "get",
      "pods",
      "-n",
      ns,
      "-l",
      `app.kubernetes.io/instance=${name}`,
    ).items;
    const nodes = kubectlJson<{ items: Parameters<typeof pickTarget>[2] }>("get", "nodes").items;
    const target = pickTarget(`${ns}/${name}`, pods, nodes);
    process.stdout.write(`[test-call] ${ns}/${name}: pod ${target.pod} on node ${target.node}\n`);
    base = target.base;
    if (!adminKey) {
      // The admin Secret the operator generated, or the one the spec names.
      const ref = cr.spec?.rtcd?.security?.adminSecretRef ?? {
        name: `${name}-admin`,
        key: "ADMIN_SECRET_KEY",
      };
      const secret = kubectlJson<{ data?: Record<string, string> }>("get", "secret", ref.name, "-n", ns);
      const encoded = secret.data?.[ref.key];
      if (!encoded) throw new Error(`Secret ${ns}/${ref.name} has no key ${ref.key}`);
      adminKey = Buffer.from(encoded, "base64").toString("utf8");
    }
  }
  if (!adminKey) throw new Error("--url needs the rtcd's admin key in RTCD_ADMIN_KEY");
  const report = await TestCall.run({
    base,
    adminKey,
    participants: Number(values.participants),
    seconds: Number(values.seconds),
  });
  process.stdout.write(formatReport(report) + "\n");
  return judge(report).ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[test-call] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
