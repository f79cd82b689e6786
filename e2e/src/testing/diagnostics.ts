// What a red e2e run prints so that it explains itself: for each of the test
// file's namespaces, every MattermostRTCD's status, the namespace's events and
// `kubectl get all`; and the operator's last log lines. Registered once per
// file with useDiagnostics; runs only for failed tests.
import { beforeEach } from "vitest";
import { stringify } from "yaml";
import { tryKubectl } from "./kube.ts";

export interface DiagnosticsOptions {
  /** The namespaces to describe (a function: they may be known only once tests run). */
  namespaces: () => readonly string[];
  /** The operator's log lines, when the test file runs one. */
  operatorLogs?: () => readonly string[] | undefined;
  /** How many operator log lines to print (default 60). */
  logLines?: number;
}

const section = (title: string, body: string) => `----- ${title}\n${body.trimEnd() || "(nothing)"}\n`;

async function out(args: string[]): Promise<string> {
  const r = await tryKubectl(args);
  return r.ok ? r.stdout : `kubectl ${args.join(" ")} failed: ${r.stderr}`;
}

/** The diagnostics text for these namespaces and operator logs. */
export async function diagnose(opts: DiagnosticsOptions): Promise<string> {
  const parts: string[] = [];
  for (const ns of opts.namespaces()) {
    const crs = await tryKubectl(["get", "mattermostrtcds.rtcd.mattermost.com", "-n", ns, "-o", "json"]);
    let statuses = crs.ok ? "" : crs.stderr;
    if (crs.ok) {
      const list = JSON.parse(crs.stdout) as {
        items: { metadata: { name: string; generation?: number }; spec?: unknown; status?: unknown }[];
      };
      statuses = list.items
        .map((o) =>
          stringify({
            [o.metadata.name]: { generation: o.metadata.generation, spec: o.spec, status: o.status },
          }),
        )
        .join("");
    }
    parts.push(section(`MattermostRTCDs in ${ns} (spec and status)`, statuses));
    const events = await out(["get", "events", "-n", ns, "--sort-by=.lastTimestamp"]);
    parts.push(section(`events in ${ns} (last 40)`, events.split("\n").slice(-41).join("\n")));
    parts.push(
      section(
        `kubectl get all,pdb,configmaps,endpointslices -n ${ns}`,
        await out(["get", "all,pdb,configmaps,endpointslices", "-n", ns, "-o", "wide"]),
      ),
    );
  }
  const logs = opts.operatorLogs?.();
  if (logs) {
    const n = opts.logLines ?? 60;
    parts.push(section(`operator's last ${n} log lines`, logs.slice(-n).join("\n")));
  }
  return parts.join("");
}

/** On every failed test of the calling file, print diagnose(opts) to stderr. */
export function useDiagnostics(opts: DiagnosticsOptions): void {
  beforeEach((ctx) => {
    ctx.onTestFailed(async () => {
      let text: string;
      try {
        text = await diagnose(opts);
      } catch (err) {
        text = `diagnostics failed: ${String(err)}\n`;
      }
      process.stderr.write(`\n===== diagnostics for failed test "${ctx.task.name}"\n${text}===== end\n`);
    });
  });
}
