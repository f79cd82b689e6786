// `helm template` of the chart, parsed: what the template tests assert on.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { helmBin } from "./helm-bin.ts";
import { chartDir, repoRoot } from "./paths.ts";

export type Values = Record<string, unknown>;

// A rendered Kubernetes object; tests read into it with optional chaining.
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests are untyped JSON; tests assert on their shape.
  spec?: any;
  [key: string]: unknown;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  // Values files applied before `values` (e.g. the seed fixture).
  files?: string[];
  // Extra helm arguments, e.g. ["--set", "a=b"].
  args?: string[];
  chart?: string;
}

function helmArgs(values: Values, opts: RenderOptions): string[] {
  return [
    "template",
    opts.release ?? "mattermost-rtcd",
    opts.chart ?? chartDir,
    "--namespace",
    opts.namespace ?? "rtcd",
    ...(opts.files ?? []).flatMap((f) => ["-f", f]),
    "-f",
    "-",
    ...(opts.args ?? []),
  ];
}

export class HelmError extends Error {
  readonly stderr: string;
  constructor(stderr: string) {
    super(stderr);
    this.stderr = stderr;
  }
}

export function helmTemplateRaw(values: Values = {}, opts: RenderOptions = {}): string {
  try {
    return execFileSync(helmBin(), helmArgs(values, opts), {
      input: JSON.stringify(values),
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new HelmError(e.stderr || e.message);
  }
}

export function render(values: Values = {}, opts: RenderOptions = {}): K8sObject[] {
  return parseAllDocuments(helmTemplateRaw(values, opts))
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0]?.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

// helm's error output for values that must be refused ("" when rendering succeeded).
export function renderError(values: Values = {}, opts: RenderOptions = {}): string {
  try {
    helmTemplateRaw(values, opts);
    return "";
  } catch (err) {
    if (err instanceof HelmError) return err.stderr;
    throw err;
  }
}

export function find(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ");
    throw new Error(
      `expected one ${kind}${name ? `/${name}` : ""}, found ${found.length} (rendered: ${have})`,
    );
  }
  return found[0]!;
}

export function findAll(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

// The workload's only container.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see K8sObject.spec
export function container(workload: K8sObject): any {
  const containers = workload.spec?.template?.spec?.containers as unknown[] | undefined;
  if (!containers || containers.length !== 1) throw new Error(`${workload.kind} has no single container`);
  return containers[0];
}

export function envOf(workload: K8sObject): Record<string, string | undefined> {
  const env = (container(workload).env ?? []) as { name: string; value?: string }[];
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

// NOTES.txt as `helm install` would print it. helm template does not render
// it, so a copy of the chart renders it through `tpl` into a ConfigMap.
export function renderNotes(values: Values = {}, opts: RenderOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "rtcd-chart-notes-"));
  try {
    const copy = join(dir, "mattermost-rtcd");
    cpSync(chartDir, copy, { recursive: true });
    writeFileSync(join(copy, "notes.tpl"), readFileSync(join(chartDir, "templates/NOTES.txt")));
    writeFileSync(
      join(copy, "templates/zz-notes.yaml"),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes.tpl") . | toJson }}\n',
    );
    const out = helmTemplateRaw(values, {
      ...opts,
      chart: copy,
      args: [...(opts.args ?? []), "--show-only", "templates/zz-notes.yaml"],
    });
    const cm = parse(out) as { data: { notes: string } };
    return cm.data.notes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const crdFile = join(chartDir, "files/crds/rtcd.mattermost.com_mattermostrtcds.yaml");

let generated: string | undefined;

/**
 * The chart with its copy of the CRD: the chart itself once `npm run generate`
 * wrote files/crds/, else (until then) a temporary copy with the CRD that
 * `rtcd-operator crds` prints, so operator-mode tests never depend on a stale
 * or missing generated file silently.
 */
export function chartWithCrd(): string {
  if (existsSync(crdFile)) return chartDir;
  if (generated) return generated;
  const dir = join(mkdtempSync(join(tmpdir(), "rtcd-chart-crd-")), "mattermost-rtcd");
  cpSync(chartDir, dir, { recursive: true });
  const yaml = execFileSync(process.execPath, [join(repoRoot, "operator/src/cli/main.ts"), "crds"], {
    encoding: "utf8",
  });
  mkdirSync(join(dir, "files/crds"), { recursive: true });
  writeFileSync(join(dir, "files/crds/rtcd.mattermost.com_mattermostrtcds.yaml"), yaml);
  process.on("exit", () => rmSync(dirname(dir), { recursive: true, force: true }));
  generated = dir;
  return dir;
}
