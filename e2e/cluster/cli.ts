// `npm run cluster -- <build|up|down|status|env>`: the local cluster from a shell.
import { build, down, envExports, status, up } from "./index.ts";
import { realNodesFromArgs } from "./real-node/config.ts";

const USAGE = `usage: npm run cluster -- <command>

commands:
  build    build the Kubernetes binaries, etcd, kwok and helm (cached by version)
  up       start the local cluster (idempotent: reuses a running one)
           --real-node       also a real node (containerd, kubelet, kube-proxy, CoreDNS)
           --real-nodes=N    N real nodes, one zone each (the e2e tests use 2)
  down     stop what \`up\` started and remove the cluster's state
  status   say what runs and where
  env      print export lines: eval "$(npm run -s cluster -- env)"
`;

async function main(cmd: string | undefined, args: string[]): Promise<number> {
  switch (cmd) {
    case "build":
      build();
      return 0;
    case "up": {
      const t0 = Date.now();
      const c = await up({ realNodes: realNodesFromArgs(args) });
      process.stdout.write(
        `cluster up in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${c.server}\n` +
          `use it with: eval "$(npm run -s cluster -- env)"\n`,
      );
      return 0;
    }
    case "down": {
      const stopped = await down();
      process.stdout.write(stopped.length ? `stopped ${stopped.join(", ")}\n` : "nothing was running\n");
      return 0;
    }
    case "status":
      process.stdout.write((await status()) + "\n");
      return 0;
    case "env":
      process.stdout.write(envExports());
      return 0;
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(cmd ? `unknown command "${cmd}"\n\n${USAGE}` : USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv[2], process.argv.slice(3));
} catch (err) {
  process.stderr.write(`[cluster] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
