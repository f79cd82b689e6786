// Small helpers for integration tests that read and write the cluster with
// kubectl (the same tool users have), returning parsed JSON.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { stringify } from "yaml";

const run = promisify(execFile);

export interface Kubectl {
  json<T = Record<string, unknown>>(...args: string[]): Promise<T>;
  get<T = Record<string, unknown>>(kind: string, name: string): Promise<T | undefined>;
  apply(obj: unknown, ...args: string[]): Promise<string>;
  run(...args: string[]): Promise<string>;
  tryRun(...args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }>;
}

export function kubectlIn(namespace: string, env: NodeJS.ProcessEnv): Kubectl {
  const exec = async (args: string[], input?: string) => {
    const child = run("kubectl", args, { env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    if (input !== undefined) {
      child.child.stdin!.end(input);
    }
    return child;
  };
  const k: Kubectl = {
    async run(...args) {
      const { stdout } = await exec(["-n", namespace, ...args]);
      return stdout;
    },
    async tryRun(...args) {
      try {
        const { stdout, stderr } = await exec(["-n", namespace, ...args]);
        return { ok: true, stdout, stderr };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        return { ok: false, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
      }
    },
    async json(...args) {
      return JSON.parse(await k.run(...args, "-o", "json"));
    },
    async get(kind, name) {
      const r = await k.tryRun("get", kind, name, "-o", "json");
      if (!r.ok) {
        if (/NotFound|not found/.test(r.stderr)) return undefined;
        throw new Error(r.stderr);
      }
      return JSON.parse(r.stdout);
    },
    async apply(obj, ...args) {
      const { stdout } = await exec(["-n", namespace, "apply", "-f", "-", ...args], stringify(obj));
      return stdout;
    },
  };
  return k;
}
